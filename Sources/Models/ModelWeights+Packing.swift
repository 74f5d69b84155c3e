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
        if PackedWeights.replacesStoredRows(tokenEmbedding.type) {
            tokenEmbedding = store.pack(tokenEmbedding, path: path, pool: pool, release: release)
        }
        if PackedWeights.replacesStoredRows(output.type), !skippingOutput {
            output = store.pack(output, path: path, pool: pool, release: release)
        }
        forEachLayerMatrix(skipping: skippingLayers,
                           { $0 = store.pack($0, path: path, pool: pool, release: release) },
                           { $0 = store.pack($0, path: path, pool: pool, release: release) })
        guard storage.releasesPages else { return }
        // then the rows decode reads as stored: no packed copy, or Q6_K's prompt-only one
        func readAsStored(_ type: GGMLType, _ packed: UnsafeRawPointer?) -> Bool {
            packed == nil || !PackedWeights.replacesStoredRows(type)
        }
        if !skippingOutput, readAsStored(output.type, output.packed) {
            let tied = tokenEmbedding.data == output.data
            output = store.moveStoredRows(output, pool: pool, release: release)
            if tied, readAsStored(tokenEmbedding.type, tokenEmbedding.packed) {
                tokenEmbedding = store.moveStoredRows(tokenEmbedding, pool: pool, release: release)  // shares the copy
            }
        }
        forEachLayerMatrix(skipping: skippingLayers,
                           { if readAsStored($0.type, $0.packed) { $0 = store.moveStoredRows($0, pool: pool, release: release) } },
                           { if readAsStored($0.type, $0.packed) { $0 = store.moveStoredRows($0, pool: pool, release: release) } })
    }

    /// Calls `matrix` with every 2-D weight matrix of the layers not in `skipping` (projections,
    /// feed-forward, a MoE layer's router and shared expert) and `experts` with every expert tensor.
    private mutating func forEachLayerMatrix(skipping: Set<Int>, _ matrix: (inout WeightMatrix) -> Void,
                                             _ experts: (inout ExpertWeights) -> Void) {
        func visit(_ w: inout WeightMatrix?) {
            guard var m = w else { return }
            matrix(&m)
            w = m
        }
        for i in layers.indices where !skipping.contains(i) {
            matrix(&layers[i].query)
            matrix(&layers[i].key)
            matrix(&layers[i].value)
            matrix(&layers[i].output)
            visit(&layers[i].gate)
            visit(&layers[i].up)
            visit(&layers[i].down)
            if var x = layers[i].experts {
                matrix(&x.router)
                experts(&x.gate)
                experts(&x.up)
                experts(&x.down)
                visit(&x.sharedGate)
                visit(&x.sharedUp)
                visit(&x.sharedDown)
                layers[i].experts = x
            }
        }
    }
}
