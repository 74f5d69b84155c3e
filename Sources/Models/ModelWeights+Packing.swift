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
    ///
    /// Then the matrices decode still reads as stored (no packed copy, or Q6_K's prompt-only one)
    /// move into huge pages too (`PackedWeights.moveStoredRows`) where the mapped pages can be
    /// let go, so that memory holds them once either way. The token embedding moves only with a
    /// tied LM head: alone, it is read a few rows at a time, and the mapping keeps only those.
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
        if storage.releasesPages { moveStoredRows(into: store, pool: pool, release: release, skippingLayers: skippingLayers,
                                                  skippingOutput: skippingOutput) }
    }

    private mutating func moveStoredRows(into store: PackedWeights, pool: ComputePool, release: (UnsafeRawPointer, Int) -> Void,
                                         skippingLayers: Set<Int>, skippingOutput: Bool) {
        func readAsStored(_ type: GGMLType, _ packed: UnsafeRawPointer?) -> Bool {
            packed == nil || !PackedWeights.replacesStoredRows(type)
        }
        func move(_ w: inout WeightMatrix) {
            if readAsStored(w.type, w.packed) { w = store.moveStoredRows(w, pool: pool, release: release) }
        }
        func move(_ w: inout WeightMatrix?) {
            guard var m = w else { return }
            move(&m)
            w = m
        }
        func move(_ e: inout ExpertWeights) {
            if readAsStored(e.type, e.packed) { e = store.moveStoredRows(e, pool: pool, release: release) }
        }
        if !skippingOutput {
            let tied = tokenEmbedding.data == output.data
            move(&output)
            if tied, readAsStored(tokenEmbedding.type, tokenEmbedding.packed) {
                tokenEmbedding = store.moveStoredRows(tokenEmbedding, pool: pool, release: release)
            }
        }
        for i in layers.indices where !skippingLayers.contains(i) {
            move(&layers[i].query)
            move(&layers[i].key)
            move(&layers[i].value)
            move(&layers[i].output)
            move(&layers[i].gate)
            move(&layers[i].up)
            move(&layers[i].down)
            if var x = layers[i].experts {
                move(&x.router)
                move(&x.gate)
                move(&x.up)
                move(&x.down)
                move(&x.sharedGate)
                move(&x.sharedUp)
                move(&x.sharedDown)
                layers[i].experts = x
            }
        }
    }
}
