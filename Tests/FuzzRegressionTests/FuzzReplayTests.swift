import Foundation
import Testing
import FuzzEntries

/// Replays every saved fuzz input (the seed corpus and every crash ever found) through the
/// same entry the libFuzzer targets call, so a fixed crash stays fixed without the fuzzer.
/// Inputs run on a thread with a 512 KiB stack, the smallest a request handler may get.
@Suite struct FuzzReplayTests {
    static let fuzzDir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fuzz")

    static func inputs(_ target: FuzzTarget, _ kind: String) throws -> [URL] {
        let dir = fuzzDir.appendingPathComponent(kind).appendingPathComponent(target.rawValue)
        guard FileManager.default.fileExists(atPath: dir.path) else { return [] }
        return try FileManager.default.contentsOfDirectory(at: dir, includingPropertiesForKeys: nil)
            .filter { !$0.lastPathComponent.hasPrefix(".") }
            .sorted { $0.lastPathComponent < $1.lastPathComponent }
    }

    static func replayOnSmallStack(_ target: FuzzTarget, _ files: [URL]) throws {
        let inputs = try files.map { try [UInt8](Data(contentsOf: $0)) }
        let done = DispatchSemaphore(value: 0)
        let thread = Thread {
            for bytes in inputs { target.run(bytes) }
            done.signal()
        }
        thread.stackSize = 512 << 10
        thread.start()
        done.wait()
    }

    @Test(arguments: FuzzTarget.allCases)
    func seedCorpusReplays(target: FuzzTarget) throws {
        let files = try Self.inputs(target, "corpus")
        #expect(files.count >= 3, "Fuzz/corpus/\(target.rawValue) needs seed inputs")
        try Self.replayOnSmallStack(target, files)
    }

    @Test(arguments: FuzzTarget.allCases)
    func regressionsReplay(target: FuzzTarget) throws {
        try Self.replayOnSmallStack(target, try Self.inputs(target, "regressions"))
    }
}
