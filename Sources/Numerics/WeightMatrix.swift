import CNumerics
import GGUF

/// A 2-D weight tensor in its storage format, viewed in place (usually inside the memory map).
///
/// `rows` output features of `columns` inputs each; row `r` starts at `data + r·rowBytes`.
public struct WeightMatrix: @unchecked Sendable {
    public let type: GGMLType
    public let rows: Int
    public let columns: Int
    public let rowBytes: Int
    public let data: UnsafeRawPointer
    /// The same rows repacked for a faster kernel (in groups of 16 rows, `PackedWeights`):
    /// the first `rows / 16 · 16` rows, owned by the `PackedWeights` that made it; nil when the
    /// matrix is used as stored.
    public internal(set) var packed: UnsafeRawPointer?

    public init(type: GGMLType, rows: Int, columns: Int, data: UnsafeRawPointer) {
        self.type = type
        self.rows = rows
        self.columns = columns
        self.rowBytes = columns / type.blockSize * type.typeSize
        self.data = data
    }

    /// Views a GGUF tensor of shape [columns, rows] (GGML order) as a matrix.
    public init(_ info: GGUFTensorInfo, in file: GGUFFile) throws {
        do { try Dequantize.validate(info.type, count: info.rowLength) } catch {
            throw NumericsError.unsupportedTensorType(tensor: info.name, type: info.type.name)
        }
        let bytes = file.data(for: info)
        self.init(type: info.type, rows: info.rowCount, columns: info.rowLength,
                  data: bytes.baseAddress ?? UnsafeRawPointer(bitPattern: 64)!)
    }

    public func row(_ r: Int) -> UnsafeRawPointer { data + r * rowBytes }

    /// Dequantizes row `r` into `out` (`columns` floats). A row with a packed copy is read from
    /// the copy (rebuilt in its stored layout first), since its stored pages may have been
    /// released (`ModelWeights.pack`).
    @inline(__always)
    public func dequantizeRow(_ r: Int, into out: UnsafeMutablePointer<Float>) {
        // Supported types and whole-block rows were checked at init.
        if let packed, r < rows / PackedWeights.groupRows * PackedWeights.groupRows {
            withUnsafeTemporaryAllocation(byteCount: rowBytes, alignment: 16) { stored in
                if cn_packed_stored_row(Int32(type.rawValue), packed, Int32(columns / type.blockSize), Int32(r), stored.baseAddress!) != 0 {
                    Dequantize.rowUnchecked(type, UnsafeRawPointer(stored.baseAddress!), count: columns, into: out)
                } else {
                    Dequantize.rowUnchecked(type, row(r), count: columns, into: out)
                }
            }
            return
        }
        Dequantize.rowUnchecked(type, row(r), count: columns, into: out)
    }
}

extension WeightMatrix {
    /// Rows `start ..< start + count` as a matrix of their own, in place (a part of a fused
    /// projection such as Phi-3's `attn_qkv`).
    public func rows(_ start: Int, _ count: Int) -> WeightMatrix {
        precondition(start >= 0 && count >= 0 && start + count <= rows, "rows \(start)+\(count) of \(rows)")
        var part = WeightMatrix(type: type, rows: count, columns: columns, data: data + start * rowBytes)
        if let packed, start % PackedWeights.groupRows == 0 {
            part.packed = packed + start / PackedWeights.groupRows * PackedWeights.groupBytes(type, columns: columns)
        }
        return part
    }
}
