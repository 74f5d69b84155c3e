import GGUF
import CriaNumerics

extension ModelWeights {
    /// Attaches packed copies (`PackedWeights`) to every matrix `path` has a packed kernel for,
    /// and lets the operating system drop the mapped pages the copies replace. They are read
    /// back from the file when something still needs the stored rows: a prompt through a Q8_0
    /// matrix, or through a Q5_0 one in llama.cpp numerics (the stored blocked kernel), a row in
    /// one of llama.cpp's batch-dependent orders (its repacked Q4_K gemm, its tiled K-quant
    /// matmul). A tied embedding's lookups rebuild their rows from the copy. Results do not
    /// change; speed and memory do.
    ///
    /// Then the matrices decode still reads as stored (no packed copy) move into huge pages too
    /// (`PackedWeights.moveStoredRows`) where the mapped pages can be let go, so that memory holds
    /// them once either way. The token embedding moves only with a tied LM head: alone, it is read
    /// a few rows at a time, and the mapping keeps only those.
    /// Layers in `skippingLayers` (and the LM head with `skippingOutput`) run on a device and are not copied.
    mutating func pack(into store: PackedWeights, path: KernelPath, storage: GGUFStorage, pool: ComputePool,
                       skippingLayers: Set<Int> = [], skippingOutput: Bool = false) {
        let release = { (start: UnsafeRawPointer, count: Int) in storage.releasePages(start, byteCount: count) }
        // An embedding of its own is only read a few rows at a time: the mapping keeps just those,
        // where a copy would hold all of it. A tied one shares the LM head's copy.
        if !skippingOutput {
            output = store.pack(output, path: path, pool: pool, release: release)
            if tokenEmbedding.data == output.data {
                tokenEmbedding = store.pack(tokenEmbedding, path: path, pool: pool, release: release)
            }
        }
        forEachLayerMatrix(skipping: skippingLayers,
                           { $0 = store.pack($0, path: path, pool: pool, release: release) },
                           { $0 = store.pack($0, path: path, pool: pool, release: release) })
        guard storage.releasesPages else { return }
        // then the rows decode reads as stored: those without a packed copy
        if !skippingOutput, output.packed == nil {
            let tied = tokenEmbedding.data == output.data
            output = store.moveStoredRows(output, pool: pool, release: release)
            if tied, tokenEmbedding.packed == nil {
                tokenEmbedding = store.moveStoredRows(tokenEmbedding, pool: pool, release: release)  // shares the copy
            }
        }
        forEachLayerMatrix(skipping: skippingLayers,
                           { if $0.packed == nil { $0 = store.moveStoredRows($0, pool: pool, release: release) } },
                           { if $0.packed == nil { $0 = store.moveStoredRows($0, pool: pool, release: release) } })
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
