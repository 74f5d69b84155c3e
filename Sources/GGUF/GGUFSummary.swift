/// A human-readable listing of a GGUF file (header, metadata, tensor table), like gguf-dump.
/// `cria info` prints it; kept here so it is testable without the executable.
public struct GGUFSummary {
    public var maxArrayItems = 8

    public init(maxArrayItems: Int = 8) { self.maxArrayItems = maxArrayItems }

    public func render(_ file: GGUFFile, path: String) -> String {
        var out: [String] = []
        out.append("file:      \(path)")
        out.append("version:   \(file.version)")
        out.append("size:      \(file.fileSize) bytes, data at offset \(file.dataOffset), alignment \(file.alignment)")
        out.append("metadata:  \(file.metadata.count) keys")
        let keyWidth = file.metadata.keys.map(\.count).max() ?? 0
        for (key, value) in file.metadata.entries {
            let type = value.type == .array ? "arr" : value.type.name
            out.append("  \(key.padding(keyWidth)) \(type.padding(4)) \(value.summary(maxArrayItems: maxArrayItems))")
        }
        let totalElements = file.tensors.reduce(0) { $0 + $1.elementCount }
        out.append("tensors:   \(file.tensors.count) (\(totalElements) parameters)")
        let nameWidth = file.tensors.map(\.name.count).max() ?? 0
        out.append("  #     \("name".padding(nameWidth)) type     \("shape".padding(20)) bytes")
        for (i, t) in file.tensors.enumerated() {
            let shape = "[" + t.shape.map(String.init).joined(separator: ", ") + "]"
            out.append("  \(String(i).padding(5)) \(t.name.padding(nameWidth)) \(t.type.name.padding(8)) \(shape.padding(20)) \(t.byteCount)")
        }
        return out.joined(separator: "\n")
    }
}

extension String {
    func padding(_ width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }
}
