import CriaNumerics

/// How one batch is computed, decided once before the first layer: the float order of every
/// row's matrix products and which rows attend together in tiles.
///
/// In invariant numerics every row gets the same plan whatever the batch (gemv order with Q5_0's
/// block totals, one-row attention), so a row's numbers depend only on its own sequence. In
/// llama.cpp numerics the plan follows llama.cpp's: every row takes its eight-lane Q5_0 order, each
/// sequence's rows are cut into micro-batch groups, and a group's size picks the other orders
/// (repacked Q4_K gemm from 4 rows, tiled K-quant products from 8, tiled attention from 64).
struct ForwardSchedule {
    /// Matrix-product order of each row, in row order.
    var rowOrders: [RowOrder]
    /// Rows (batch indices) of one sequence attended together, at most `Attention.tileRows` each.
    var attentionTiles: [[Int32]] = []
    /// The positions of each tile's rows, in the same order.
    var attentionTilePositions: [[Int32]] = []
    /// Rows attended one at a time, in blocks of consecutive rows of one sequence (at most
    /// `attentionRowBlock`): a block's rows share each chunk of converted value rows
    /// (`Attention.attendRows`), each row's numbers being those it gets alone.
    var singleRowBlocks: [[Int32]] = []

    /// Rows per block of `singleRowBlocks`: a prompt's rows share the value conversion eight ways.
    static let attentionRowBlock = 8

    /// `tiledAttention`: whether the cache's formats allow tiles (llama.cpp tiles f16 caches only).
    init(_ batch: Batch, numerics: NumericsMode, microBatchSize: Int, tiledAttention: Bool = true) {
        rowOrders = Array(repeating: [], count: batch.count)
        guard numerics == .llamaCpp else {
            addSingleRows(batch.rows.indices.map(Int32.init), batch)
            return
        }
        for group in Self.microBatchGroups(batch, size: microBatchSize) {
            let gemmRows = group.count >= 4 ? group.count - group.count % 4 : 0
            for (j, i) in group.enumerated() {
                var order: RowOrder = .q0Lanes
                if group.count >= 2 { order.insert(.multiRow) }
                if group.count >= 8 { order.insert(.tiledKQuant) }
                if j < gemmRows { order.insert(.repackedQ4K) }
                rowOrders[Int(i)] = order
            }
            if tiledAttention && group.count >= Attention.tileRows {
                for start in stride(from: 0, to: group.count, by: Attention.tileRows) {
                    let tile = Array(group[start..<min(start + Attention.tileRows, group.count)])
                    attentionTiles.append(tile)
                    attentionTilePositions.append(tile.map { batch.rows[Int($0)].position })
                }
            } else {
                addSingleRows(group, batch)
            }
        }
    }

    /// Appends `rows` (batch indices) to the blocks: each row joins the last block when that block is
    /// of the same sequence, ends at the previous row and is not full.
    private mutating func addSingleRows(_ rows: [Int32], _ batch: Batch) {
        for i in rows {
            if let last = singleRowBlocks.last, let previous = last.last, last.count < Self.attentionRowBlock,
               previous + 1 == i, batch.rows[Int(previous)].sequence == batch.rows[Int(i)].sequence {
                singleRowBlocks[singleRowBlocks.count - 1].append(i)
            } else {
                singleRowBlocks.append([i])
            }
        }
    }

    /// Each sequence's rows (batch indices, in order), cut into groups of `size` as llama.cpp cuts
    /// its micro-batches; sequences in increasing id order.
    static func microBatchGroups(_ batch: Batch, size: Int) -> [[Int32]] {
        var rowsOf: [Int: [Int32]] = [:]
        for (i, row) in batch.rows.enumerated() { rowsOf[row.sequence, default: []].append(Int32(i)) }
        var groups: [[Int32]] = []
        let size = max(1, size)
        for sequence in rowsOf.keys.sorted() {
            let indices = rowsOf[sequence]!
            for start in stride(from: 0, to: indices.count, by: size) {
                groups.append(Array(indices[start..<min(start + size, indices.count)]))
            }
        }
        return groups
    }
}
