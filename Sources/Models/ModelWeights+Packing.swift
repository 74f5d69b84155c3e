import GGUF
import CriaNumerics

extension ModelWeights {
    /// Attaches packed copies (`PackedWeights`) to every matrix `path` has a packed kernel for,
    /// and lets the operating system drop the mapped pages the copies replace. They are read
    /// back from the file when something still needs the stored rows: an embedding lookup (the
    /// rows of the tokens seen), a prompt through a Q8_0 matrix, or through a Q5_0 one in llama.cpp
    /// numerics (the stored blocked kernel),
    /// a row in llama.cpp's repacked-gemm order. Q6_K's copy serves prompts only, so its stored rows
    /// stay, and a Q6_K LM head is not copied at all (prompts ask it for a few rows; the copy would
    /// be 2.4 times its size). Results do not change; speed and memory do.
    /// Layers in `skippingLayers` (and the LM head with `skippingOutput`) run on a device and are not copied.
    mutating func pack(into store: PackedWeights, path: KernelPath, storage: GGUFStorage, pool: ComputePool,
                       skippingLayers: Set<Int> = [], skippingOutput: Bool = false) {
        let release = { (start: UnsafeRawPointer, count: Int) in storage.releasePages(start, byteCount: count) }
        func pack(_ w: inout WeightMatrix) { w = store.pack(w, path: path, pool: pool, release: release) }
        func pack(_ w: inout WeightMatrix?) {
            guard var m = w else { return }
            pack(&m)
            w = m
        }
        func pack(_ e: inout ExpertWeights) { e = store.pack(e, path: path, pool: pool, release: release) }
        if PackedWeights.replacesStoredRows(tokenEmbedding.type) { pack(&tokenEmbedding) }
        if PackedWeights.replacesStoredRows(output.type), !skippingOutput { pack(&output) }
        for i in layers.indices where !skippingLayers.contains(i) {
            pack(&layers[i].query)
            pack(&layers[i].key)
            pack(&layers[i].value)
            pack(&layers[i].output)
            pack(&layers[i].gate)
            pack(&layers[i].up)
            pack(&layers[i].down)
            if var x = layers[i].experts {
                pack(&x.gate)
                pack(&x.up)
                pack(&x.down)
                pack(&x.sharedGate)
                pack(&x.sharedUp)
                pack(&x.sharedDown)
                layers[i].experts = x
            }
        }
    }
}
