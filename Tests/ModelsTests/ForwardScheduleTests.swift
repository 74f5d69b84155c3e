import Testing
import CriaNumerics
@testable import Models

/// How a batch's rows are grouped for attention: rows attended one at a time go in blocks of
/// consecutive rows of one sequence, at most `attentionRowBlock` long (they share each chunk's
/// converted value rows, see `Attention.attendRows`); llama.cpp numerics keep its tiles.
@Suite struct ForwardScheduleTests {
    static func batch(_ sequences: [Int]) -> Batch {
        var next: [Int: Int32] = [:]
        var b = Batch()
        for s in sequences {
            b.append(.init(token: 1, position: next[s, default: 0], sequence: s, wantsLogits: false))
            next[s, default: 0] += 1
        }
        return b
    }

    @Test func invariantNumericsBlockConsecutiveRowsOfOneSequence() {
        // 10 rows of sequence 0, 3 of sequence 1, 2 more of sequence 0, then 1 and 0 alternating (decode-like)
        let b = Self.batch(Array(repeating: 0, count: 10) + [1, 1, 1, 0, 0, 1, 0, 1, 0])
        let schedule = ForwardSchedule(b, numerics: .invariant, microBatchSize: 512)
        #expect(ForwardSchedule.attentionRowBlock == 8)
        #expect(schedule.singleRowBlocks == [[0, 1, 2, 3, 4, 5, 6, 7], [8, 9], [10, 11, 12], [13, 14], [15], [16], [17], [18]])
        #expect(schedule.attentionTiles.isEmpty)
    }

    @Test func llamaCppNumericsBlockTheirSingleRowsAndTileLargeGroups() {
        // sequence 0: 70 rows (a tile of 64 and one of 6: llama.cpp tiles every group of 64 or more);
        // sequence 1: 12 rows (one micro-batch group under 64: attended row by row, in blocks)
        let b = Self.batch(Array(repeating: 0, count: 70) + Array(repeating: 1, count: 12))
        let schedule = ForwardSchedule(b, numerics: .llamaCpp, microBatchSize: 512)
        #expect(schedule.attentionTiles.map(\.count) == [64, 6])
        #expect(schedule.singleRowBlocks == [Array(70..<78), Array(78..<82)])
    }
}
