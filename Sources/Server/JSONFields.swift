import JSON

/// Typed, field-named access to a JSON request object. Every wrong type becomes a 400 that
/// names the field, so raw JSON never reaches the engine.
struct JSONFields {
    let value: JSONValue

    /// Parses a request body; anything but a JSON object is a 400.
    init(body: [UInt8]) throws(APIError) {
        // Decoding with replacement would silently change the prompt; ill-formed UTF-8 is the client's error.
        guard let text = String(validating: body, as: UTF8.self) else {
            throw .badRequest("The request body is not valid UTF-8")
        }
        let parsed: JSONValue
        do { parsed = try JSONValue.parse(text) } catch {
            throw .badRequest("Invalid JSON in request body: \(error.description)")
        }
        guard case .object = parsed else { throw .badRequest("The request body must be a JSON object") }
        value = parsed
    }

    init(object: JSONValue) { value = object }

    /// The member, treating JSON null as absent.
    subscript(key: String) -> JSONValue? {
        guard let v = value[key] else { return nil }
        if case .null = v { return nil }
        return v
    }

    func has(_ key: String) -> Bool { self[key] != nil }

    static func typeError(_ key: String, _ expected: String) -> APIError {
        .badRequest("Invalid type for '\(key)': expected \(expected)")
    }

    func string(_ key: String) throws(APIError) -> String? {
        guard let v = self[key] else { return nil }
        guard case .string(let s) = v else { throw Self.typeError(key, "a string") }
        return s
    }

    func bool(_ key: String) throws(APIError) -> Bool? {
        guard let v = self[key] else { return nil }
        guard case .bool(let b) = v else { throw Self.typeError(key, "a boolean") }
        return b
    }

    func double(_ key: String) throws(APIError) -> Double? {
        guard let v = self[key] else { return nil }
        guard let d = v.doubleValue else { throw Self.typeError(key, "a number") }
        return d
    }

    func float(_ key: String) throws(APIError) -> Float? {
        try double(key).map(Float.init)
    }

    func int(_ key: String) throws(APIError) -> Int? {
        guard let v = self[key] else { return nil }
        guard let d = v.doubleValue, d.rounded() == d, abs(d) < 9.0e15 else { throw Self.typeError(key, "an integer") }
        return Int(d)
    }

    /// Most any count or size in a request may be: llama-server keeps them in 32-bit integers.
    static let int32Range = Int(Int32.min)...Int(Int32.max)

    /// An integer that must lie in `range`; anything outside is a 400 naming the field and the
    /// range, before any conversion or allocation uses it.
    func int(_ key: String, in range: ClosedRange<Int>) throws(APIError) -> Int? {
        guard let n = try int(key) else { return nil }
        guard range.contains(n) else {
            throw .badRequest("Invalid value for '\(key)': must be between \(range.lowerBound) and \(range.upperBound), got \(n)")
        }
        return n
    }

    func object(_ key: String) throws(APIError) -> JSONFields? {
        guard let v = self[key] else { return nil }
        guard case .object = v else { throw Self.typeError(key, "an object") }
        return JSONFields(object: v)
    }

    func array(_ key: String) throws(APIError) -> [JSONValue]? {
        guard let v = self[key] else { return nil }
        guard case .array(let a) = v else { throw Self.typeError(key, "an array") }
        return a
    }

    /// A string or an array of strings (OpenAI's `stop`).
    func stringList(_ key: String) throws(APIError) -> [String]? {
        guard let v = self[key] else { return nil }
        if case .string(let s) = v { return [s] }
        guard case .array(let a) = v else { throw Self.typeError(key, "a string or an array of strings") }
        var out: [String] = []
        for item in a {
            guard case .string(let s) = item else { throw Self.typeError(key, "an array of strings") }
            out.append(s)
        }
        return out
    }
}

extension JSONValue {
    /// Integer value of a JSON number that has no fractional part.
    var intValue: Int? {
        guard let d = doubleValue, d.rounded() == d, abs(d) < 9.0e15 else { return nil }
        return Int(d)
    }
}
