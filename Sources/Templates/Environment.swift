import Foundation

/// Knobs for one render that are not template variables.
public struct RenderOptions: Sendable {
    /// Implements the `strftime_now(format)` global that transformers provides.
    /// Defaults to formatting the current local time with C `strftime`.
    public var strftimeNow: @Sendable (String) -> String
    /// How many statements and expressions one render may evaluate before it fails with a
    /// `.limit` error. A template can come from a request or a model file, and loops, macro
    /// recursion and `loop(...)` recursion can each multiply work; the default is far above
    /// what a real chat template needs for thousands of messages.
    public var maxSteps: Int

    /// llama.cpp's engine, not Python's: `str + undefined` and `str + none` give the string
    /// instead of raising (see `Operators.concatenatingMissing`). Off by default.
    public var concatenatesMissingStrings = false

    public static let defaultMaxSteps = 20_000_000

    public init(strftimeNow: @escaping @Sendable (String) -> String = RenderOptions.systemStrftime,
                maxSteps: Int = RenderOptions.defaultMaxSteps) {
        self.strftimeNow = strftimeNow
        self.maxSteps = maxSteps
    }

    /// `strftime(format)` of the current local time.
    public static let systemStrftime: @Sendable (String) -> String = { format in
        var t = time(nil)
        var tmValue = tm()
        localtime_r(&t, &tmValue)
        var buffer = [Int8](repeating: 0, count: 256)
        let n = strftime(&buffer, buffer.count, format, &tmValue)
        return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// The global functions every chat template can call: jinja2's defaults (`range`,
/// `dict`, `namespace`, `joiner`, `cycler`) plus transformers' `raise_exception` and `strftime_now`.
enum Globals {
    static func make(_ options: RenderOptions) -> [String: Value] {
        var g: [String: Value] = [:]
        g["range"] = .function(FunctionBox(name: "range") { a in
            let ints = try a.positional.map { v -> Int in
                guard let i = v.intLike else { throw TemplateError(.type, "'\(v.typeName)' object cannot be interpreted as an integer") }
                return i
            }
            var start = 0, stop = 0, step = 1
            switch ints.count {
            case 1: stop = ints[0]
            case 2: start = ints[0]; stop = ints[1]
            case 3: start = ints[0]; stop = ints[1]; step = ints[2]
            default: throw TemplateError(.type, "range expected 1 to 3 arguments, got \(ints.count)")
            }
            guard step != 0 else { throw TemplateError(.type, "range() arg 3 must not be zero") }
            let count = step > 0 ? max(0, (stop - start + step - 1) / step) : max(0, (start - stop - step - 1) / -step)
            // jinja2's sandbox caps ranges at 100000 items; we do the same to bound memory.
            guard count <= 100_000 else { throw TemplateError(.limit, "range too big") }
            return .list(stride(from: start, to: stop, by: step).map { .int($0) })
        })
        g["dict"] = .function(FunctionBox(name: "dict") { a in
            let d = DictBox()
            if let first = a.positional.first {
                switch first {
                case .dict(let o): for (k, v) in o.entries { d[value: k] = v }
                default:
                    for pair in try first.iterate() {
                        let kv = try pair.iterate()
                        guard kv.count == 2 else { throw TemplateError(.type, "dictionary update sequence element has wrong length") }
                        d[value: kv[0]] = kv[1]
                    }
                }
            }
            for (k, v) in a.keyword { d[k] = v }
            return .dict(d)
        })
        g["namespace"] = .function(FunctionBox(name: "namespace") { a in
            let d = DictBox()
            if case .dict(let o)? = a.positional.first { for (k, v) in o.pairs { d[k] = v } }
            for (k, v) in a.keyword { d[k] = v }
            return .namespace(d)
        })
        g["raise_exception"] = .function(FunctionBox(name: "raise_exception") { a in
            throw TemplateError(.raised, a.positional.first?.pythonStr ?? "")
        })
        g["strftime_now"] = .function(FunctionBox(name: "strftime_now") { a in
            .string(options.strftimeNow(a.positional.first?.pythonStr ?? ""))
        })
        g["joiner"] = .function(FunctionBox(name: "joiner") { a in
            let sep = a.get(0, "sep") ?? .string(", ")
            var used = false
            return .function(FunctionBox(name: "joiner") { _ in
                if used { return sep }
                used = true
                return .string("")
            })
        })
        g["cycler"] = .function(FunctionBox(name: "cycler") { a in
            let items = a.positional
            let state = DictBox()
            var pos = 0
            state["current"] = items.first ?? Value.none
            state["next"] = .function(FunctionBox(name: "next") { _ in
                guard !items.isEmpty else { return .none }
                let v = items[pos % items.count]
                pos += 1
                state["current"] = items[pos % items.count]
                return v
            })
            state["reset"] = .function(FunctionBox(name: "reset") { _ in
                pos = 0
                state["current"] = items.first ?? Value.none
                return .none
            })
            return .namespace(state)
        })
        return g
    }
}
