import JSON

/// Converts a JSON Schema into GBNF, following the rule layout of llama.cpp's
/// converter (primitive rules `value`, `object`, `string`, `number`, …, a
/// bounded `space` rule between tokens, properties in schema order).
///
/// Supported: `type` (incl. arrays of types), `properties`, `required`,
/// `additionalProperties` (false/true/schema; when absent alongside
/// `properties`, extra keys are *not* generated, as in llama.cpp), `enum`,
/// `const`, `items`, `prefixItems`, `minItems`/`maxItems`,
/// `minLength`/`maxLength`, `pattern`, `format` (date, time, date-time, uuid),
/// integer `minimum`/`maximum`/`exclusiveMinimum`/`exclusiveMaximum`, local
/// `$ref` with `$defs`/`definitions` (recursion allowed), `anyOf`/`oneOf`
/// (both generate any branch), `allOf` (merged), OpenAPI `nullable`, and
/// `{}`/`true` for any value. Numbers have at most 15 digits before and after
/// the decimal point so generation always terminates.
///
/// Keywords that would change which documents are valid but are not
/// supported (`not`, `uniqueItems`, `patternProperties`, …) throw
/// `SchemaConversionError.unsupportedKeyword` in strict mode (the default) or
/// become warnings otherwise. Partially enforced constraints (unknown
/// `format`s, bounds on non-integer numbers) are always reported in
/// `Result.warnings`. Annotations (`title`, `description`, `examples`, …) are ignored.
public enum JSONSchemaConverter {
    /// Upper bound on schemas being converted inside one another (nested
    /// `properties`/`items`, `$ref` chains, `allOf` merges). Conversion recurses
    /// per level on a request handler's thread, which may have as little as
    /// 512 KiB of stack.
    public static let maxNestingDepth = 128
    /// Upper bound on the schemas visited or merged in one conversion. `allOf`
    /// inlines what it references, so a small document can otherwise ask for
    /// exponentially many visits.
    public static let maxSteps = 100_000
    /// Upper bound on the grammar text one conversion writes (rule bodies, in
    /// bytes). An object's optional properties render as llama.cpp renders
    /// them: rule j lists every property from j on, so n optional properties
    /// take about n²/2 alternatives, and 10,000 of them would be gigabytes.
    /// 16 MiB fits objects of 500 optional properties with ~40-byte rule names
    /// (about 6 MB); the GBNF parser's repetition budget refuses objects past
    /// ~540 optional properties anyway. Checked before each object's optional
    /// rules are built, so a schema over it fails without writing them.
    public static let maxGrammarBytes = 16 << 20
    /// Rule names longer than this are shortened (with a hash of the full name),
    /// since names accumulate the property names of every enclosing level.
    static let maxRuleNameLength = 96

    public struct Options: Sendable {
        /// Throw on unsupported validation keywords instead of warning.
        public var strict: Bool
        public init(strict: Bool = true) { self.strict = strict }
    }

    /// The generated grammar text (root rule `root`) and anything that was not
    /// (fully) enforced.
    public struct Result: Sendable {
        public let gbnf: String
        public let warnings: [String]
    }

    /// Converts schema text (JSON) to GBNF.
    public static func convert(schemaJSON: String, options: Options = Options()) throws(SchemaConversionError) -> Result {
        let value: JSONValue
        do { value = try JSONValue.parse(schemaJSON) } catch { throw .invalidJSON(error.description) }
        return try convert(schema: value, options: options)
    }

    /// Converts a parsed schema to GBNF.
    public static func convert(schema: JSONValue, options: Options = Options()) throws(SchemaConversionError) -> Result {
        let c = SchemaConverter(root: schema, options: options)
        let rootName = try c.visit(schema, name: "root", path: "")
        if rootName != "root" { _ = c.addRule("root", rootName) }
        return Result(gbnf: c.render(), warnings: c.warnings)
    }

    /// Converts and parses in one step; a grammar error here would be a bug in
    /// the converter and is reported as `invalidSchema`.
    public static func grammar(schemaJSON: String, options: Options = Options()) throws(SchemaConversionError) -> Grammar {
        let r = try convert(schemaJSON: schemaJSON, options: options)
        do { return try Grammar.parse(r.gbnf) } catch {
            throw .invalidSchema("generated grammar failed to parse: \(error)", path: "")
        }
    }

    /// Grammar for `response_format: {"type": "json_object"}`: any JSON object.
    public static var jsonObjectGBNF: String {
        let c = SchemaConverter(root: .bool(true), options: Options())
        _ = c.addRule("root", c.primitive("object"))
        return c.render()
    }

    /// Grammar for any JSON value (the schema `{}`).
    public static var anyJSONGBNF: String {
        try! convert(schema: .bool(true)).gbnf
    }
}

/// Mutable state of one conversion.
final class SchemaConverter {
    let root: JSONValue
    let options: JSONSchemaConverter.Options
    var order: [String] = []
    var bodies: [String: String] = [:]
    var refNames: [String: String] = ["#": "root"]
    var warnings: [String] = []
    private var pendingCounter = 0
    private var depth = 0
    private var steps = 0
    /// Bytes of rule bodies written so far (see `JSONSchemaConverter.maxGrammarBytes`).
    private(set) var renderedBytes = 0

    init(root: JSONValue, options: JSONSchemaConverter.Options) {
        self.root = root
        self.options = options
    }

    // MARK: rules

    static let primitiveBodies: [String: (String, [String])] = [
        "space": (#"| " " | "\n"{1,2} [ \t]{0,20}"#, []),
        "boolean": (#"("true" | "false") space"#, ["space"]),
        "null": (#""null" space"#, ["space"]),
        "integral-part": (#"[0] | [1-9] [0-9]{0,14}"#, []),
        "decimal-part": (#"[0-9]{1,15}"#, []),
        "exponent": (#"[eE] [-+]? [0-9]{1,3}"#, []),
        "number": (#"("-"? integral-part) ("." decimal-part)? exponent? space"#, ["integral-part", "decimal-part", "exponent", "space"]),
        "nonnegative-number": (#"integral-part ("." decimal-part)? exponent? space"#, ["integral-part", "decimal-part", "exponent", "space"]),
        "integer": (#"("-"? integral-part) space"#, ["integral-part", "space"]),
        "char": (#"[^"\\\x7F\x00-\x1F] | [\\] (["\\/bfnrt] | "u" [0-9a-fA-F]{4})"#, []),
        "string": (#""\"" char* "\"" space"#, ["char", "space"]),
        "value": ("object | array | string | number | boolean | null", ["object", "array", "string", "number", "boolean", "null"]),
        "object": (#""{" space ( string ":" space value ("," space string ":" space value)* )? "}" space"#, ["string", "value", "space"]),
        "array": (#""[" space ( value ("," space value)* )? "]" space"#, ["value", "space"]),
        "uuid": (#""\"" [0-9a-fA-F]{8} "-" [0-9a-fA-F]{4} "-" [0-9a-fA-F]{4} "-" [0-9a-fA-F]{4} "-" [0-9a-fA-F]{12} "\"" space"#, ["space"]),
        // Calendar-valid dates only (validators parse them, so "2023-02-30" would fail): day
        // ranges per month, February 29 only in leap years, no year 0000.
        "date": (#"date-year "-" date-month-day | date-leap-year "-02-29""#, ["date-year", "date-month-day", "date-leap-year"]),
        "date-year": (#"[0-9]{3} [1-9] | [0-9]{2} [1-9] "0" | [0-9] [1-9] "00" | [1-9] "000""#, []),
        "date-month-day": (#"("0" [13578] | "1" [02]) "-" ("0" [1-9] | [12] [0-9] | "3" [01]) | ("0" [469] | "11") "-" ("0" [1-9] | [12] [0-9] | "30") | "02-" ("0" [1-9] | "1" [0-9] | "2" [0-8])"#, []),
        "date-leap-year": (#"[0-9]{2} ([02468] [48] | [2468] "0" | [13579] [26]) | ("0" [48] | [2468] [048] | [13579] [26]) "00""#, []),
        "time": (#"([01] [0-9] | "2" [0-3]) ":" [0-5] [0-9] ":" [0-5] [0-9] ("." [0-9]{1,9})? ("Z" | [+\-] ([01] [0-9] | "2" [0-3]) ":" [0-5] [0-9])"#, []),
        "date-time": (#"date "T" time"#, ["date", "time"]),
        "date-string": (#""\"" date "\"" space"#, ["date", "space"]),
        "time-string": (#""\"" time "\"" space"#, ["time", "space"]),
        "date-time-string": (#""\"" date-time "\"" space"#, ["date-time", "space"]),
    ]

    /// Adds a primitive (and what it references) and returns its name.
    func primitive(_ name: String) -> String {
        if bodies[name] == nil, let (body, deps) = SchemaConverter.primitiveBodies[name] {
            bodies[name] = body
            order.append(name)
            for d in deps { _ = primitive(d) }
        }
        return name
    }

    /// Rule names are derived from schema names; keep them within GBNF's
    /// alphabet, away from primitive names, and never ending in `-<digits>`
    /// (the shape of the parser's helper rules).
    func sanitize(_ raw: String) -> String {
        var s = String(raw.unicodeScalars.map { u -> Character in
            (u.isASCII && (u.properties.isAlphabetic || ("0"..."9").contains(Character(u)))) || u == "-" ? Character(u) : "-"
        })
        if s.isEmpty { s = "rule" }
        if s.utf8.count > JSONSchemaConverter.maxRuleNameLength {
            // FNV-1a: deterministic across runs, unlike Hasher.
            var h: UInt32 = 0x811C_9DC5
            for b in s.utf8 { h = (h ^ UInt32(b)) &* 0x0100_0193 }
            s = String(s.prefix(JSONSchemaConverter.maxRuleNameLength - 10)) + "-" + String(h, radix: 16) + "x"
        }
        if SchemaConverter.primitiveBodies[s] != nil && s != "root" { s += "-def" }
        if let dash = s.lastIndex(of: "-"), s.index(after: dash) < s.endIndex,
           s[s.index(after: dash)...].allSatisfy(\.isNumber) {
            s += "x"
        }
        return s
    }

    // Names for a sanitized base form a chain: base, base2x, base3x, … A new rule
    // takes the first free name of its chain, or reuses the first one with the same
    // body (llama.cpp's naming). Schemas whose keys all sanitize alike (10,000 keys of
    // punctuation) would walk the whole chain on every rule, so each chain remembers
    // how far it has been walked and the first position of each body seen on it.
    // Names are never removed, so a position once taken stays taken.
    private struct NameChain {
        /// Positions 1..<scanned are taken (position 1 is the base itself).
        var scanned = 1
        var firstWithBody: [String: Int] = [:]
    }
    private var chains: [String: NameChain] = [:]
    /// Where each name was seen while walking chains (a name such as `a2x` is on
    /// the chains of both `a` and `a2x`), to update them when its body is set later.
    private var chainPositions: [String: [(base: String, position: Int)]] = [:]

    private func chainName(_ base: String, _ position: Int) -> String {
        position == 1 ? base : base + String(position) + "x"
    }

    /// Walks `base`'s chain on from where the last walk stopped; returns its first free position.
    private func walkChain(_ base: String) -> Int {
        // Mutated in place: a copy of the chain would copy its body index on every call.
        if chains[base] == nil { chains[base] = NameChain() }
        var p = chains[base]!.scanned
        while case let n = chainName(base, p), let body = bodies[n] {
            if chains[base]!.firstWithBody[body] == nil { chains[base]!.firstWithBody[body] = p }
            chainPositions[n, default: []].append((base, p))
            p += 1
        }
        chains[base]!.scanned = p
        return p
    }

    /// Sets the body of a name reserved earlier (a `$ref` or an optional-properties
    /// rule, whose placeholder body no real rule can equal) and records it on the
    /// chains that have already walked past the name.
    private func setReservedBody(_ n: String, _ body: String) {
        bodies[n] = body
        renderedBytes += n.utf8.count + body.utf8.count
        for (base, p) in chainPositions[n] ?? [] where chains[base]!.firstWithBody[body].map({ $0 > p }) ?? true {
            chains[base]!.firstWithBody[body] = p
        }
    }

    func uniqueName(_ raw: String) -> String {
        let base = sanitize(raw)
        return chainName(base, walkChain(base))
    }

    /// Adds `name ::= body`, reusing an identical existing rule.
    func addRule(_ raw: String, _ body: String) -> String {
        let base = sanitize(raw)
        let free = walkChain(base)
        if let p = chains[base]!.firstWithBody[body] { return chainName(base, p) }
        let n = chainName(base, free)
        bodies[n] = body
        order.append(n)
        renderedBytes += n.utf8.count + body.utf8.count
        _ = walkChain(base) // records the new rule on its chain
        return n
    }

    func render() -> String {
        var out = ""
        let names = order.contains("root") ? ["root"] + order.filter { $0 != "root" } : order
        for n in names { out += "\(n) ::= \(bodies[n]!)\n" }
        return out
    }

    func warn(_ m: String, _ path: String) { warnings.append("\(path.isEmpty ? "#" : path): \(m)") }

    // MARK: keywords

    static let annotations: Set<String> = [
        "$schema", "$id", "id", "title", "description", "examples", "example", "default", "$comment",
        "deprecated", "readOnly", "writeOnly", "discriminator", "contentEncoding", "contentMediaType",
        "$anchor", "$defs", "definitions",
    ]
    static let handled: Set<String> = [
        "type", "properties", "required", "additionalProperties", "enum", "const", "items", "prefixItems",
        "minItems", "maxItems", "minLength", "maxLength", "pattern", "format", "minimum", "maximum",
        "exclusiveMinimum", "exclusiveMaximum", "$ref", "anyOf", "oneOf", "allOf", "nullable",
    ]

    func checkKeywords(_ members: [(key: String, value: JSONValue)], path: String) throws(SchemaConversionError) {
        for (k, _) in members where !SchemaConverter.handled.contains(k) && !SchemaConverter.annotations.contains(k) && !k.hasPrefix("x-") {
            if options.strict { throw .unsupportedKeyword(k, path: path) }
            warn("keyword '\(k)' is not supported and was ignored", path)
        }
    }

    // MARK: limits

    /// Counts one more level of nesting (the caller undoes it with `leave()`)
    /// and one more step.
    func enter(_ path: String) throws(SchemaConversionError) {
        depth += 1
        steps += 1
        if depth > JSONSchemaConverter.maxNestingDepth {
            throw .invalidSchema("schemas are nested too deeply (more than \(JSONSchemaConverter.maxNestingDepth) levels, counting $ref and allOf)", path: path)
        }
        if steps > JSONSchemaConverter.maxSteps {
            throw .invalidSchema("schema is too complex (more than \(JSONSchemaConverter.maxSteps) sub-schemas to visit)", path: path)
        }
    }

    func leave() { depth -= 1 }

    // MARK: visiting

    /// Returns the name of a rule matching `schema` (followed by `space`).
    func visit(_ schema: JSONValue, name: String, path: String) throws(SchemaConversionError) -> String {
        try enter(path)
        defer { leave() }
        switch schema {
        case .bool(true): return primitive("value")
        case .bool(false): throw .invalidSchema("the schema 'false' matches nothing", path: path)
        case .object: break
        default: throw .invalidSchema("a schema must be an object or a boolean", path: path)
        }
        let members = schema.objectMembers!
        try checkKeywords(members, path: path)

        if schema["nullable"]?.boolValue == true {
            var rest = members.filter { $0.key != "nullable" }
            rest = rest.filter { !SchemaConverter.annotations.contains($0.key) || $0.key == "$defs" || $0.key == "definitions" }
            let inner = try visit(.object(rest), name: name + "-nonnull", path: path)
            return addRule(name, "\(inner) | \(primitive("null"))")
        }

        if let ref = schema["$ref"] {
            guard let refText = ref.stringValue else { throw .invalidSchema("$ref must be a string", path: path) }
            let siblings = members.filter { $0.key != "$ref" && !SchemaConverter.annotations.contains($0.key) }
            if !siblings.isEmpty {
                return try visit(.object([("allOf", .array([.object([("$ref", ref)]), .object(siblings)]))]), name: name, path: path)
            }
            return try visitRef(refText, path: path)
        }

        let combinator = schema["anyOf"] != nil ? "anyOf" : (schema["oneOf"] != nil ? "oneOf" : nil)
        if let combinator {
            guard let branches = schema[combinator]?.arrayValue, !branches.isEmpty else {
                throw .invalidSchema("\(combinator) must be a non-empty array", path: path)
            }
            let siblings = members.filter { $0.key != combinator && !SchemaConverter.annotations.contains($0.key) }
            var alts: [String] = []
            for (i, b) in branches.enumerated() {
                let branch: JSONValue = siblings.isEmpty ? b : .object([("allOf", .array([.object(siblings), b]))])
                alts.append(try visit(branch, name: "\(name)-\(combinator == "anyOf" ? "any" : "one")\(i)", path: "\(path)/\(combinator)/\(i)"))
            }
            return addRule(name, alts.joined(separator: " | "))
        }

        if let all = schema["allOf"] {
            guard let parts = all.arrayValue else { throw .invalidSchema("allOf must be an array", path: path) }
            let siblings = members.filter { $0.key != "allOf" && !SchemaConverter.annotations.contains($0.key) }
            let merged = try merge(parts + (siblings.isEmpty ? [] : [.object(siblings)]), path: path + "/allOf")
            return try visit(merged, name: name, path: path)
        }

        if let c = schema["const"] {
            return addRule(name, literal(c))
        }
        if let e = schema["enum"] {
            guard let values = e.arrayValue, !values.isEmpty else { throw .invalidSchema("enum must be a non-empty array", path: path) }
            return addRule(name, values.map(literal).joined(separator: " | "))
        }

        var types: [String]
        switch schema["type"] {
        case nil: types = inferTypes(schema)
        case .string(let t)?: types = [t]
        case .array(let ts)?:
            types = []
            for t in ts {
                guard let s = t.stringValue else { throw .invalidSchema("type entries must be strings", path: path) }
                types.append(s)
            }
            if types.isEmpty { throw .invalidSchema("type must not be an empty array", path: path) }
        default: throw .invalidSchema("type must be a string or an array", path: path)
        }
        if types.count > 1 {
            var alts: [String] = []
            for t in types {
                alts.append(try visitTyped(schema, type: t, name: "\(name)-\(t)", path: path))
            }
            return addRule(name, alts.joined(separator: " | "))
        }
        return try visitTyped(schema, type: types[0], name: name, path: path)
    }

    func inferTypes(_ s: JSONValue) -> [String] {
        if s["properties"] != nil || s["additionalProperties"] != nil || s["required"] != nil { return ["object"] }
        if s["items"] != nil || s["prefixItems"] != nil || s["minItems"] != nil || s["maxItems"] != nil { return ["array"] }
        if s["minLength"] != nil || s["maxLength"] != nil || s["pattern"] != nil || s["format"] != nil { return ["string"] }
        if s["minimum"] != nil || s["maximum"] != nil || s["exclusiveMinimum"] != nil || s["exclusiveMaximum"] != nil { return ["number"] }
        return ["any"]
    }

    func visitTyped(_ s: JSONValue, type: String, name: String, path: String) throws(SchemaConversionError) -> String {
        switch type {
        case "any": return primitive("value")
        case "null": return primitive("null")
        case "boolean": return primitive("boolean")
        case "string": return try visitString(s, name: name, path: path)
        case "integer": return try visitInteger(s, name: name, path: path)
        case "number": return visitNumber(s, path: path)
        case "object": return try visitObject(s, name: name, path: path)
        case "array": return try visitArray(s, name: name, path: path)
        default: throw .invalidSchema("unknown type '\(type)'", path: path)
        }
    }

    // MARK: references

    func visitRef(_ ref: String, path: String) throws(SchemaConversionError) -> String {
        if let n = refNames[ref] { return n }
        guard ref.hasPrefix("#") else { throw .unresolvedReference(ref, path: path) }
        var target = root
        let pointer = String(ref.dropFirst())
        if !pointer.isEmpty {
            guard pointer.hasPrefix("/") else { throw .unresolvedReference(ref, path: path) }
            for rawSeg in pointer.dropFirst().split(separator: "/", omittingEmptySubsequences: false) {
                let seg = (String(rawSeg).removingPercentEncodingSimple ?? String(rawSeg))
                    .replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
                if let v = target[seg] {
                    target = v
                } else if let arr = target.arrayValue, let i = Int(seg), i >= 0, i < arr.count {
                    target = arr[i]
                } else {
                    throw .unresolvedReference(ref, path: path)
                }
            }
        }
        let last = ref.split(separator: "/").last.map(String.init) ?? "ref"
        let n = uniqueName(last)
        // Reserve the name before visiting so recursive references resolve to it.
        pendingCounter += 1
        bodies[n] = "<pending \(pendingCounter)>"
        order.append(n)
        refNames[ref] = n
        let inner = try visit(target, name: n + "-body", path: ref)
        setReservedBody(n, inner)
        return n
    }

    // MARK: allOf

    func resolveIfRef(_ s: JSONValue, path: String) throws(SchemaConversionError) -> JSONValue {
        try enter(path)
        defer { leave() }
        var cur = s
        var hops = 0
        while let r = cur["$ref"]?.stringValue {
            hops += 1
            if hops > 32 { throw .invalidSchema("$ref chain too long in allOf", path: path) }
            guard r.hasPrefix("#") else { throw .unresolvedReference(r, path: path) }
            var target = root
            for seg in r.dropFirst().split(separator: "/") {
                let key = String(seg).replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
                guard let v = target[key] else { throw .unresolvedReference(r, path: path) }
                target = v
            }
            let siblings = (cur.objectMembers ?? []).filter { $0.key != "$ref" }
            if siblings.isEmpty { cur = target } else {
                cur = try merge([target, .object(siblings)], path: path)
            }
        }
        return cur
    }

    /// Merges `allOf` parts into one schema. Object properties/required are
    /// combined, bounds are intersected; other keywords must agree.
    func merge(_ parts: [JSONValue], path: String) throws(SchemaConversionError) -> JSONValue {
        try enter(path)
        defer { leave() }
        var out: [(key: String, value: JSONValue)] = []
        func index(_ k: String) -> Int? { out.firstIndex { $0.key == k } }
        for (pi, p0) in parts.enumerated() {
            if case .bool(true) = p0 { continue }
            if case .bool(false) = p0 { throw .invalidSchema("allOf contains 'false'", path: path) }
            var p = try resolveIfRef(p0, path: "\(path)/\(pi)")
            if let inner = p["allOf"]?.arrayValue {
                let rest = (p.objectMembers ?? []).filter { $0.key != "allOf" }
                p = try merge(inner + [.object(rest)], path: "\(path)/\(pi)/allOf")
            }
            guard let members = p.objectMembers else { throw .invalidSchema("allOf entries must be schemas", path: path) }
            for (k, v) in members {
                if SchemaConverter.annotations.contains(k) { continue }
                guard let i = index(k) else { out.append((k, v)); continue }
                let old = out[i].value
                switch k {
                case "properties":
                    var props = old.objectMembers ?? []
                    for (pk, pv) in v.objectMembers ?? [] {
                        if let j = props.firstIndex(where: { $0.key == pk }) {
                            props[j].value = .object([("allOf", .array([props[j].value, pv]))])
                        } else {
                            props.append((pk, pv))
                        }
                    }
                    out[i].value = .object(props)
                case "required":
                    var req = old.arrayValue ?? []
                    for r in v.arrayValue ?? [] where !req.contains(where: { $0.stringValue == r.stringValue }) { req.append(r) }
                    out[i].value = .array(req)
                case "minimum", "minLength", "minItems", "exclusiveMinimum":
                    if let a = old.doubleValue, let b = v.doubleValue { out[i].value = a >= b ? old : v }
                case "maximum", "maxLength", "maxItems", "exclusiveMaximum":
                    if let a = old.doubleValue, let b = v.doubleValue { out[i].value = a <= b ? old : v }
                case "type":
                    let a = typeSet(old), b = typeSet(v)
                    var both = a.filter { b.contains($0) }
                    if a.contains("integer") && b.contains("number") && !both.contains("integer") { both.append("integer") }
                    if b.contains("integer") && a.contains("number") && !both.contains("integer") { both.append("integer") }
                    if both.contains("integer") { both.removeAll { $0 == "number" && !(a.contains("number") && b.contains("number")) } }
                    if both.isEmpty { throw .invalidSchema("allOf combines incompatible types", path: path) }
                    out[i].value = both.count == 1 ? .string(both[0]) : .array(both.map { .string($0) })
                default:
                    if old.description != v.description {
                        throw .unsupportedKeyword("\(k) (conflicting values in allOf)", path: path)
                    }
                }
            }
        }
        return .object(out)
    }

    func typeSet(_ v: JSONValue) -> [String] {
        if let s = v.stringValue { return [s] }
        return (v.arrayValue ?? []).compactMap(\.stringValue)
    }

    // MARK: literals

    /// GBNF for exactly the JSON value `v` (with `space` between structural
    /// tokens so whitespace variants of object/array constants match).
    func literal(_ v: JSONValue) -> String {
        let sp = primitive("space")
        switch v {
        case .null, .bool, .number: return GBNFText.quote(v.description) + " " + sp
        case .string(let s): return GBNFText.quote(JSONValue.quote(s)) + " " + sp
        case .array(let items):
            if items.isEmpty { return "\"[\" \(sp) \"]\" \(sp)" }
            return "\"[\" \(sp) " + items.map { "(" + literal($0) + ")" }.joined(separator: " \",\" \(sp) ") + " \"]\" \(sp)"
        case .object(let members):
            if members.isEmpty { return "\"{\" \(sp) \"}\" \(sp)" }
            let kvs = members.map { m in
                GBNFText.quote(JSONValue.quote(m.key)) + " \(sp) \":\" \(sp) (" + literal(m.value) + ")"
            }
            return "\"{\" \(sp) " + kvs.joined(separator: " \",\" \(sp) ") + " \"}\" \(sp)"
        }
    }

    // MARK: strings

    func nonNegativeInt(_ v: JSONValue?, _ key: String, path: String) throws(SchemaConversionError) -> Int? {
        guard let v else { return nil }
        guard let d = v.doubleValue, d >= 0, d == d.rounded() else {
            throw .invalidSchema("\(key) must be a non-negative integer", path: path)
        }
        return d > 1e9 ? 1_000_000_000 : Int(d)
    }

    /// `{m,n}` suffix; counts above the grammar's repetition limit become
    /// unbounded (reported).
    func repetitionSuffix(_ lo: Int, _ hi: Int?, path: String, what: String) -> String {
        var lo = lo, hi = hi
        if let h = hi, h > GBNFParser.maxRepetition {
            warn("\(what) \(h) exceeds \(GBNFParser.maxRepetition); not enforced", path)
            hi = nil
        }
        if lo > GBNFParser.maxRepetition {
            warn("\(what) \(lo) exceeds \(GBNFParser.maxRepetition); lowered", path)
            lo = GBNFParser.maxRepetition
        }
        switch (lo, hi) {
        case (0, nil): return "*"
        case (1, nil): return "+"
        case (0, 1): return "?"
        case (let m, nil): return "{\(m),}"
        case (let m, let x?) where m == x: return "{\(m)}"
        case (let m, let x?): return "{\(m),\(x)}"
        }
    }

    func visitString(_ s: JSONValue, name: String, path: String) throws(SchemaConversionError) -> String {
        let minLen = try nonNegativeInt(s["minLength"], "minLength", path: path) ?? 0
        let maxLen = try nonNegativeInt(s["maxLength"], "maxLength", path: path)
        if let maxLen, maxLen < minLen { throw .invalidSchema("maxLength is less than minLength", path: path) }
        let quote = #""\"""#
        if let pat = s["pattern"] {
            guard let p = pat.stringValue else { throw .invalidSchema("pattern must be a string", path: path) }
            if s["minLength"] != nil || s["maxLength"] != nil || s["format"] != nil {
                warn("minLength/maxLength/format combined with pattern: only the pattern is enforced", path)
            }
            let body = try RegexToGrammar.translate(p, charRule: primitive("char"))
            return addRule(name, "\(quote) \(body) \(quote) \(primitive("space"))")
        }
        if let f = s["format"]?.stringValue {
            let known: [String: String] = ["date": "date-string", "time": "time-string", "date-time": "date-time-string", "uuid": "uuid"]
            if let rule = known[f] {
                if s["minLength"] != nil || s["maxLength"] != nil {
                    warn("minLength/maxLength combined with format '\(f)': only the format is enforced", path)
                }
                return primitive(rule)
            }
            warn("format '\(f)' is not enforced", path)
        }
        if minLen == 0 && maxLen == nil { return primitive("string") }
        let rep = repetitionSuffix(minLen, maxLen, path: path, what: "string length")
        return addRule(name, "\(quote) \(primitive("char"))\(rep) \(quote) \(primitive("space"))")
    }

    // MARK: numbers

    func visitNumber(_ s: JSONValue, path: String) -> String {
        let hasBounds = ["minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"].contains { s[$0] != nil }
        if !hasBounds { return primitive("number") }
        let minV = s["minimum"]?.doubleValue ?? s["exclusiveMinimum"]?.doubleValue
        if let m = minV, m >= 0 {
            if m > 0 || s["exclusiveMinimum"] != nil || s["maximum"] != nil || s["exclusiveMaximum"] != nil {
                warn("bounds on non-integer numbers are only enforced as 'non-negative'", path)
            }
            return primitive("nonnegative-number")
        }
        warn("bounds on non-integer numbers are not enforced", path)
        return primitive("number")
    }

    func visitInteger(_ s: JSONValue, name: String, path: String) throws(SchemaConversionError) -> String {
        var lo: Double? = nil, hi: Double? = nil
        if let m = s["minimum"]?.doubleValue {
            lo = s["exclusiveMinimum"]?.boolValue == true ? m.rounded(.down) + 1 : m.rounded(.up)
        }
        if let m = s["maximum"]?.doubleValue {
            hi = s["exclusiveMaximum"]?.boolValue == true ? m.rounded(.up) - 1 : m.rounded(.down)
        }
        if let m = s["exclusiveMinimum"]?.doubleValue { lo = max(lo ?? -.infinity, m.rounded(.down) + 1) }
        if let m = s["exclusiveMaximum"]?.doubleValue { hi = min(hi ?? .infinity, m.rounded(.up) - 1) }
        if lo == nil && hi == nil { return primitive("integer") }
        let cap = Double(IntegerRangeGrammar.maxMagnitude)
        func clamp(_ d: Double) -> Int64 { Int64(Swift.max(-cap, Swift.min(cap, d))) }
        guard let expr = IntegerRangeGrammar.expression(min: lo.map(clamp), max: hi.map(clamp)) else {
            throw .invalidSchema("no integer satisfies minimum/maximum", path: path)
        }
        return addRule(name, "\(expr) \(primitive("space"))")
    }

    // MARK: objects

    func visitObject(_ s: JSONValue, name: String, path: String) throws(SchemaConversionError) -> String {
        let props = s["properties"]?.objectMembers ?? []
        if s["properties"] != nil && s["properties"]?.objectMembers == nil {
            throw .invalidSchema("properties must be an object", path: path)
        }
        // Arrays keep schema order; the sets answer membership (objects may have thousands of keys).
        var required: [String] = []
        var requiredSet: Set<String> = []
        for r in s["required"]?.arrayValue ?? [] {
            guard let k = r.stringValue else { throw .invalidSchema("required must list strings", path: path) }
            if requiredSet.insert(k).inserted { required.append(k) }
        }
        let propKeys = Set(props.map(\.key))
        let additional = s["additionalProperties"]
        if props.isEmpty && required.isEmpty {
            switch additional {
            case nil, .bool(true)?: return primitive("object")
            default: break
            }
        }
        let sp = primitive("space")
        var kvRules: [String: String] = [:]
        for (k, v) in props {
            let valueRule = try visit(v, name: "\(name)-\(k)", path: "\(path)/properties/\(k)")
            kvRules[k] = addRule("\(name)-\(k)-kv", "\(GBNFText.quote(JSONValue.quote(k))) \(sp) \":\" \(sp) \(valueRule)")
        }
        for k in required where kvRules[k] == nil {
            kvRules[k] = addRule("\(name)-\(k)-kv", "\(GBNFText.quote(JSONValue.quote(k))) \(sp) \":\" \(sp) \(primitive("value"))")
        }
        let requiredKVs = props.map(\.key).filter { requiredSet.contains($0) } + required.filter { !propKeys.contains($0) }
        var optionalItems = props.map(\.key).filter { !requiredSet.contains($0) }.map { kvRules[$0]! }

        // Additional properties: keys other than the named ones.
        var additionalValue: String? = nil
        switch additional {
        case .bool(true)?: additionalValue = primitive("value")
        case .object?: additionalValue = try visit(additional!, name: "\(name)-additional", path: "\(path)/additionalProperties")
        case nil, .bool(false)?: break
        default: throw .invalidSchema("additionalProperties must be a boolean or a schema", path: path)
        }
        if let additionalValue {
            let known = props.map(\.key) + required.filter { !propKeys.contains($0) }
            let keyRule = known.isEmpty ? primitive("string") : addRule("\(name)-additional-key", notStringsBody(known))
            let kv = addRule("\(name)-additional-kv", "\(keyRule) \":\" \(sp) \(additionalValue)")
            optionalItems.append(addRule("\(name)-additional-kvs", "\(kv) (\",\" \(sp) \(kv))*"))
        }

        // opt_j: the first present optional item is i >= j, then the rest after i.
        // Item i appears in rules 0…i, so the rules' size is known before writing them
        // (opt names are estimated by their unsuffixed form, which uniqueName only lengthens).
        var projected = 0
        for (i, item) in optionalItems.enumerated() {
            let next = i + 1 < optionalItems.count ? sanitize("\(name)-opt\(i + 1)x").utf8.count + sp.utf8.count + 12 : 0
            projected += (i + 1) * (item.utf8.count + next + 3)
            if renderedBytes + projected > JSONSchemaConverter.maxGrammarBytes {
                throw .invalidSchema("object has \(optionalItems.count) optional properties, and their grammar would exceed "
                                     + "\(JSONSchemaConverter.maxGrammarBytes >> 20) MiB (it grows with the square of their count; "
                                     + "list more of them in 'required')", path: path)
            }
        }
        var optNames: [String] = []
        for j in 0..<optionalItems.count { optNames.append(uniqueName("\(name)-opt\(j)x")) ; bodies[optNames[j]] = "<pending>"; order.append(optNames[j]) }
        for j in 0..<optionalItems.count {
            var alts: [String] = []
            for i in j..<optionalItems.count {
                alts.append(optionalItems[i] + (i + 1 < optionalItems.count ? " (\",\" \(sp) \(optNames[i + 1]))?" : ""))
            }
            setReservedBody(optNames[j], alts.joined(separator: " | "))
        }
        var body = "\"{\" \(sp)"
        if !requiredKVs.isEmpty {
            body += " " + requiredKVs.map { kvRules[$0]! }.joined(separator: " \",\" \(sp) ")
            if !optNames.isEmpty { body += " (\",\" \(sp) \(optNames[0]))?" }
        } else if !optNames.isEmpty {
            body += " \(optNames[0])?"
        }
        body += " \"}\" \(sp)"
        return addRule(name, body)
    }

    /// Body of a JSON string rule matching any key except those listed: a trie
    /// over the keys where every node may diverge to another character or end
    /// early, but a path may not end exactly on a listed key.
    func notStringsBody(_ keys: [String]) -> String {
        final class Node { var children: [(UInt32, Node)] = []; var terminal = false }
        let root = Node()
        for k in keys {
            var n = root
            for u in k.unicodeScalars {
                if let c = n.children.first(where: { $0.0 == u.value })?.1 { n = c } else {
                    let c = Node(); n.children.append((u.value, c)); n = c
                }
            }
            n.terminal = true
        }
        let char = primitive("char")
        let quote = #""\"""#
        func gen(_ n: Node) -> String {
            var alts: [String] = []
            for (c, child) in n.children {
                if let lit = RegexToGrammar.jsonCharLiteral(c) { alts.append("\(lit) \(gen(child))") }
            }
            let excluded: [UInt32] = n.children.map { (c: (UInt32, Node)) -> UInt32 in c.0 }.filter { (c: UInt32) -> Bool in
                c >= 0x20 && c != 0x22 && c != 0x5C && c != 0x7F
            }
            let escapedChildren: String = excluded.map { (c: UInt32) -> String in RegexToGrammar.gbnfEscape(c) }.joined()
            let cls = #"[^"\\\x7F\x00-\x1F"# + escapedChildren + "]"
            alts.append("(\(cls) | [\\\\] ([\"\\\\/bfnrt] | \"u\" [0-9a-fA-F]{4})) \(char)* \(quote)")
            if !n.terminal { alts.append(quote) }
            return "(" + alts.joined(separator: " | ") + ")"
        }
        return "\(quote) \(gen(root)) \(primitive("space"))"
    }

    // MARK: arrays

    func visitArray(_ s: JSONValue, name: String, path: String) throws(SchemaConversionError) -> String {
        let minItems = try nonNegativeInt(s["minItems"], "minItems", path: path) ?? 0
        let maxItems = try nonNegativeInt(s["maxItems"], "maxItems", path: path)
        if let maxItems, maxItems < minItems { throw .invalidSchema("maxItems is less than minItems", path: path) }
        let sp = primitive("space")
        var prefix: [JSONValue] = []
        var itemSchema: JSONValue? = nil
        if let p = s["prefixItems"] {
            guard let arr = p.arrayValue else { throw .invalidSchema("prefixItems must be an array", path: path) }
            prefix = arr
            itemSchema = s["items"]
            if case .bool(false)? = itemSchema { itemSchema = nil }
        } else if let arr = s["items"]?.arrayValue {
            prefix = arr // legacy tuple form
        } else {
            itemSchema = s["items"] ?? .bool(true)
        }
        var prefixRules: [String] = []
        for (i, p) in prefix.enumerated() {
            prefixRules.append(try visit(p, name: "\(name)-tuple\(i)x", path: "\(path)/prefixItems/\(i)"))
        }
        let itemRule = try itemSchema.map { (x: JSONValue) throws(SchemaConversionError) -> String in
            try visit(x, name: "\(name)-item", path: "\(path)/items")
        }
        let n = prefixRules.count
        if let maxItems, maxItems < n {
            // Fewer items than the tuple lists: drop the tail of the tuple.
            prefixRules.removeSubrange(maxItems...)
        }
        let extraMin = max(0, minItems - n)
        let extraMax: Int? = maxItems.map { max(0, $0 - n) }
        if itemRule == nil && extraMin > 0 {
            throw .invalidSchema("minItems exceeds the number of prefixItems and no items schema allows more", path: path)
        }
        // Items are written as a list whose first element has no leading comma.
        // Element k (0-based) is required when k < minItems.
        func extraPart(leadingComma: Bool) -> String? {
            guard let itemRule, extraMax != 0 else { return nil }
            let suffix = repetitionSuffix(leadingComma ? extraMin : max(0, extraMin - 1), leadingComma ? extraMax : extraMax.map { $0 - 1 }, path: path, what: "item count")
            if leadingComma { return "(\",\" \(sp) \(itemRule))\(suffix)" }
            let tail = "\(itemRule) (\",\" \(sp) \(itemRule))\(suffix)"
            return extraMin >= 1 ? tail : "(\(tail))?"
        }
        func tuple(from i: Int) -> String {
            if i == prefixRules.count { return extraPart(leadingComma: i > 0) ?? "" }
            let rest = tuple(from: i + 1)
            let seg = (i > 0 ? "\",\" \(sp) " : "") + prefixRules[i] + (rest.isEmpty ? "" : " " + rest)
            return i < minItems ? seg : "(\(seg))?"
        }
        let inner = tuple(from: 0)
        return addRule(name, "\"[\" \(sp) \(inner.isEmpty ? "" : inner + " ")\"]\" \(sp)")
    }
}

extension String {
    /// Percent-decoding for JSON pointer fragments (`%25` etc.) without Foundation.
    var removingPercentEncodingSimple: String? {
        guard contains("%") else { return self }
        var bytes: [UInt8] = []
        var it = Array(utf8)[...]
        while let b = it.popFirst() {
            if b == 0x25, it.count >= 2, let v = UInt8(String(decoding: it.prefix(2), as: UTF8.self), radix: 16) {
                bytes.append(v); it = it.dropFirst(2)
            } else { bytes.append(b) }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    func replacingOccurrences(of target: String, with replacement: String) -> String {
        guard !target.isEmpty, contains(target) else { return self }
        var out = ""
        var rest = Substring(self)
        while let r = rest.firstRange(of: target) {
            out += rest[..<r.lowerBound]
            out += replacement
            rest = rest[r.upperBound...]
        }
        return out + rest
    }
}
