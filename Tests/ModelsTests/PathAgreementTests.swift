import Testing
import GGUF
import CriaNumerics
@testable import Models

/// The model's logits on the C kernel paths against the portable Swift path: bit-identical, since
/// every C kernel does the reference's float operations in the reference's order. The portable
/// path always runs (it is the only one on ARM, and on x86-64 without AVX2); the test prints
/// which C paths it compared, so a CPU without them shows "none" instead of zero silent cases.
@Suite(.serialized) struct PathAgreementTests {
    @Test func logitsAgreeWithPortablePath() throws {
        let prompt: [Int32] = [2, 818, 5279, 529, 7001, 563, 506]
        func logits(_ p: KernelPath) throws -> [Float] {
            let model = try TransformerModel(path: ModelPaths.model, threads: 2, kernelPath: p)
            let cache = model.makeCache(capacity: 16)
            return try model.forward(Batch(tokens: prompt, startPosition: 0), cache: cache)
        }
        let reference = try logits(.portable)
        #expect(!reference.isEmpty && reference.allSatisfy(\.isFinite) && reference.contains { $0 != 0 })
        let cPaths = KernelDispatch.available.filter { $0 != .portable }
        print("path agreement: portable ran; C paths compared with it: \(cPaths.isEmpty ? "none on this CPU" : cPaths.map(\.description).joined(separator: ", "))")
        for path in cPaths {
            let got = try logits(path)
            let differing = zip(reference, got).filter { $0.bitPattern != $1.bitPattern }.count
            #expect(differing == 0, "\(path): \(differing) of \(reference.count) logits differ from the portable path")
        }
    }
}

/// Every weight matrix of layer 0 (and the LM head's first rows), on each C path against the
/// portable kernels, with activations shaped like the model's (with outliers): bit-identical.
@Suite struct RealWeightKernelTests {
    /// Each C path this CPU has (printed; none on ARM); the portable products are checked to be
    /// real numbers, not all zero, so the test always asserts something.
    @Test func layerMatricesAgreeWithPortable() throws {
        let model = try TransformerModel(path: ModelPaths.model, threads: 2)
        let l = model.weights.layers[0]
        let head = model.weights.output
        let headRows = WeightMatrix(type: head.type, rows: 512, columns: head.columns, data: head.data)
        let pool = ComputePool(threads: 2)
        let cPaths = KernelDispatch.available.filter { $0 != .portable }
        for (name, w) in [("q", l.query), ("k", l.key), ("v", l.value), ("o", l.output), ("gate", l.gate!),
                          ("up", l.up!), ("down", l.down!), ("head", headRows)] {
            let tokens = 3
            let x: [Float] = (0..<tokens * w.columns).map { (i: Int) -> Float in
                let u = Float((i * 7919) % 2001 - 1000) / 1000
                return i % 61 == 0 ? 20 * u : u
            }
            var a = [Float](repeating: .nan, count: tokens * w.rows), b = a
            Matmul.multiply(w, x, batch: tokens, into: &a, pool: pool, path: .portable)
            #expect(a.allSatisfy(\.isFinite) && a.contains { $0 != 0 }, "\(name): portable product")
            for path in cPaths {
                Matmul.multiply(w, x, batch: tokens, into: &b, pool: pool, path: path)
                let differing = zip(a, b).filter { $0.bitPattern != $1.bitPattern }.count
                #expect(differing == 0, "\(name) \(w.type.name) \(w.rows)x\(w.columns) \(path): \(differing) outputs differ")
            }
        }
        print("real-weight kernels: portable ran; C paths compared with it: \(cPaths.isEmpty ? "none on this CPU" : cPaths.map(\.description).joined(separator: ", "))")
    }
}
