import Foundation
import Testing
import GGUF
@testable import CriaNumerics

/// LoRA adapter products in llama.cpp's float orders, against llama.cpp's own results recorded
/// from its graph (scripts/record-lora-products.py: the test model's layer 0 and 1 attn_q
/// adapter pairs of scripts/make-lora-adapter.py, F32 and F16). Tolerance: none, the same bits.
@Suite struct LlamaFloatProductsTests {
    struct Case {
        let type: GGMLType
        let a: [Float], b: [Float]
        let paths: [String: [String: [Float]]]
    }

    static func load() throws -> [Case] {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().path + "/Fixtures/lora-products.json"
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as! [String: Any]
        func floats(_ s: Any?) -> [Float] {
            let data = Data(base64Encoded: s as! String)!
            return data.withUnsafeBytes { raw in (0..<data.count / 4).map { raw.loadUnaligned(fromByteOffset: 4 * $0, as: Float.self) } }
        }
        return (json["cases"] as! [[String: Any]]).map { c in
            var paths: [String: [String: [Float]]] = [:]
            for p in ["sgemm", "vec_dot"] {
                let entry = c[p] as! [String: Any]
                paths[p] = Dictionary(uniqueKeysWithValues: entry.map { ($0.key, floats($0.value)) })
            }
            return Case(type: c["type"] as! String == "f16" ? .f16 : .f32, a: floats(c["a"]), b: floats(c["b"]), paths: paths)
        }
    }

    /// W·x in llama.cpp's order for `type` (f16: the matrix stored as f16 and the input rounded).
    static func product(_ type: GGMLType, _ w: [Float], rows: Int, columns: Int, _ x: [Float], sgemm: Bool) -> [Float] {
        let batch = x.count / columns
        let input = type == .f16 ? x.map { Float(Float16($0)) } : x
        var y = [Float](repeating: .nan, count: batch * rows)
        let bytes: [UInt8] = type == .f16
            ? w.flatMap { withUnsafeBytes(of: Float16($0).bitPattern.littleEndian, Array.init) }
            : w.flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian, Array.init) }
        bytes.withUnsafeBytes { raw in
            let matrix = WeightMatrix(type: type, rows: rows, columns: columns, data: raw.baseAddress!)
            input.withUnsafeBufferPointer { xb in
                y.withUnsafeMutableBufferPointer { yb in
                    LlamaFloatProducts.multiply(matrix, xb.baseAddress!, batch: batch, sgemm: { _ in sgemm },
                                                into: yb.baseAddress!)
                }
            }
        }
        return y
    }

    @Test(arguments: ["sgemm", "vec_dot"])
    func adapterProductsEqualLlamaCpp(_ path: String) throws {
        let cases = try Self.load()
        #expect(cases.count == 2)
        for c in cases {
            let p = c.paths[path]!
            let ax = Self.product(c.type, c.a, rows: 4, columns: 640, p["x"]!, sgemm: path == "sgemm")
            #expect(ax.map(\.bitPattern) == p["ax"]!.map(\.bitPattern), "lora_a, \(c.type), \(path)")
            let bax = Self.product(c.type, c.b, rows: 16, columns: 8, p["ax_all"]!, sgemm: path == "sgemm")
            #expect(bax.map(\.bitPattern) == p["bax"]!.map(\.bitPattern), "lora_b, \(c.type), \(path)")
        }
    }

    /// The recording tells the orders apart: the sgemm rows are not what the vec_dot order gives
    /// them, so the test above fails if a path takes the other's order.
    @Test func theTwoOrdersDifferOnTheRecordedRows() throws {
        for c in try Self.load() {
            let p = c.paths["sgemm"]!
            let other = Self.product(c.type, c.a, rows: 4, columns: 640, p["x"]!, sgemm: false)
            #expect(other.map(\.bitPattern) != p["ax"]!.map(\.bitPattern), "\(c.type)")
        }
    }
}
