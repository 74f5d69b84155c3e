import Foundation
import Testing
@testable import CriaNumerics

/// gpt-oss's clamped SwiGLU against the formula in float64 (tolerance 1e-6 relative: one expf and
/// four roundings), at the clamps and away from them.
struct SwiGLUOAITests {
    @Test func matchesTheFormulaAndClamps() {
        let gate: [Float] = [-20, -7.5, -1, 0, 0.5, 6.9, 7, 12]
        let up: [Float] = [3, -9, 8, 0.25, -0.5, 7.5, -7, 100]
        var out = [Float](repeating: .nan, count: gate.count)
        VectorMath.swigluOAI(gate: gate, up: up, count: gate.count, alpha: 1.702, limit: 7, into: &out)
        for i in 0..<gate.count {
            let g = min(Double(gate[i]), 7), u = min(max(Double(up[i]), -7), 7)
            let expected = g / (1 + exp(-1.702 * g)) * (u + 1)
            #expect(abs(Double(out[i]) - expected) <= 1e-6 * max(1, abs(expected)), "\(i): \(out[i]) vs \(expected)")
        }
        // A gate above the limit acts as the limit and an up beyond ±limit as ±limit (bit for bit);
        // the gate has no lower clamp.
        var atLimit: [Float] = [0, 0]
        VectorMath.swigluOAI(gate: [7, -7.5], up: [7, -7], count: 2, alpha: 1.702, limit: 7, into: &atLimit)
        #expect(out[7].bitPattern == atLimit[0].bitPattern && out[1].bitPattern == atLimit[1].bitPattern)
        #expect(out[0] != 0 && out[0].magnitude < 1e-12)
    }
}
