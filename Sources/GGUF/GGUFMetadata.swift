/// The key-value metadata of a GGUF file, in file order, with typed accessors.
///
/// Accessors return nil when a key is absent or holds another kind of value; integer accessors
/// accept any integer width whose value fits, since writers disagree on widths (a block count
/// may be u32 in one file and i32 or u64 in another). The `require…` forms throw a `GGUFError`
/// naming the key instead.
public struct GGUFMetadata: Sendable {
    public private(set) var keys: [String] = []
    private var values: [String: GGUFValue] = [:]

    public init() {}

    public init(_ pairs: [(String, GGUFValue)]) {
        for (key, value) in pairs { self[key] = value }
    }

    public var count: Int { keys.count }

    /// The entries in file order.
    public var entries: [(key: String, value: GGUFValue)] { keys.map { ($0, values[$0]!) } }

    public subscript(key: String) -> GGUFValue? {
        get { values[key] }
        set {
            if newValue != nil, values[key] == nil { keys.append(key) }
            if newValue == nil, values[key] != nil { keys.removeAll { $0 == key } }
            values[key] = newValue
        }
    }

    public func contains(_ key: String) -> Bool { values[key] != nil }

    public func string(_ key: String) -> String? {
        if case let .string(s)? = values[key] { return s }
        return nil
    }

    public func bool(_ key: String) -> Bool? {
        if case let .bool(b)? = values[key] { return b }
        return nil
    }

    public func int(_ key: String) -> Int? {
        values[key]?.integerValue.flatMap { Int(exactly: $0) }
    }

    public func uint32(_ key: String) -> UInt32? {
        values[key]?.integerValue.flatMap { UInt32(exactly: $0) }
    }

    public func int32(_ key: String) -> Int32? {
        values[key]?.integerValue.flatMap { Int32(exactly: $0) }
    }

    public func uint64(_ key: String) -> UInt64? {
        if case let .uint64(v)? = values[key] { return v }
        return values[key]?.integerValue.flatMap { UInt64(exactly: $0) }
    }

    public func float(_ key: String) -> Float? {
        values[key]?.doubleValue.map { Float($0) }
    }

    public func double(_ key: String) -> Double? {
        values[key]?.doubleValue
    }

    public func array(_ key: String) -> [GGUFValue]? {
        if case let .array(_, items)? = values[key] { return items }
        return nil
    }

    public func stringArray(_ key: String) -> [String]? {
        guard let items = array(key) else { return nil }
        var out: [String] = []
        out.reserveCapacity(items.count)
        for item in items {
            guard case let .string(s) = item else { return nil }
            out.append(s)
        }
        return out
    }

    public func floatArray(_ key: String) -> [Float]? {
        guard let items = array(key) else { return nil }
        var out: [Float] = []
        out.reserveCapacity(items.count)
        for item in items {
            guard let d = item.doubleValue else { return nil }
            out.append(Float(d))
        }
        return out
    }

    public func intArray(_ key: String) -> [Int]? {
        guard let items = array(key) else { return nil }
        var out: [Int] = []
        out.reserveCapacity(items.count)
        for item in items {
            guard let v = item.integerValue, let i = Int(exactly: v) else { return nil }
            out.append(i)
        }
        return out
    }

    public func requireString(_ key: String) throws -> String {
        try require(key, string(key), expected: "string")
    }

    public func requireInt(_ key: String) throws -> Int {
        try require(key, int(key), expected: "integer")
    }

    public func requireUInt32(_ key: String) throws -> UInt32 {
        try require(key, uint32(key), expected: "u32")
    }

    public func requireFloat(_ key: String) throws -> Float {
        try require(key, float(key), expected: "number")
    }

    private func require<T>(_ key: String, _ value: T?, expected: String) throws -> T {
        if let value { return value }
        guard let present = values[key] else { throw GGUFError.missingKey(key) }
        throw GGUFError.wrongValueType(key: key, expected: expected, found: present.type.name)
    }
}
