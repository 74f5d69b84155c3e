import ArgumentParser
import Models

/// llama.cpp's RoPE flags, shared by every command that loads a model: each one given replaces
/// the model file's value for the global (not sliding-window) layers, as llama.cpp's context
/// parameters do. 0 (and, for the YaRN tuning values, a negative number) means "the model's",
/// as in llama.cpp.
struct RoPEOptions: ParsableArguments {
    @Option(name: .customLong("rope-scaling"), help: "RoPE frequency scaling: none, linear or yarn (default: the model's).")
    var scaling: String?
    @Option(name: .customLong("rope-scale"), parsing: .unconditional,
            help: "RoPE context scaling factor: positions are divided by N (the same as --rope-freq-scale 1/N).")
    var scale: Double?
    @Option(name: .customLong("rope-freq-base"), parsing: .unconditional, help: "RoPE base frequency (default: the model's).")
    var freqBase: Double?
    @Option(name: .customLong("rope-freq-scale"), parsing: .unconditional,
            help: "RoPE frequency scaling factor: the context grows by 1/N (default: the model's).")
    var freqScale: Double?
    @Option(name: .customLong("yarn-orig-ctx"), parsing: .unconditional, help: "YaRN: the model's original context (default: the model's).")
    var yarnOriginalContext: Int?
    @Option(name: .customLong("yarn-ext-factor"), parsing: .unconditional,
            help: "YaRN extrapolation mix (0: interpolation only; default -1: 1 with YaRN).")
    var yarnExtFactor: Double?
    @Option(name: .customLong("yarn-attn-factor"), parsing: .unconditional, help: "YaRN magnitude scale (default -1: the model's).")
    var yarnAttnFactor: Double?
    @Option(name: .customLong("yarn-beta-slow"), parsing: .unconditional, help: "YaRN high correction dimension (default -1: 1).")
    var yarnBetaSlow: Double?
    @Option(name: .customLong("yarn-beta-fast"), parsing: .unconditional, help: "YaRN low correction dimension (default -1: 32).")
    var yarnBetaFast: Double?

    func validate() throws { _ = try override() }

    /// The overrides, each checked before it is converted.
    func override() throws -> RoPEOverride {
        var o = RoPEOverride()
        if let scaling {
            guard ["none", "linear", "yarn"].contains(scaling) else {
                throw ValidationError("--rope-scaling must be none, linear or yarn, got '\(scaling)'")
            }
            o.scalingType = scaling
        }
        /// A positive finite value up to `limit`; 0 (or below 0 where `negativeIsDefault`) is nil.
        func value(_ flag: String, _ v: Double?, limit: Double, negativeIsDefault: Bool = false) throws -> Float? {
            guard let v else { return nil }
            if v == 0 && !negativeIsDefault { return nil }
            if v < 0 && negativeIsDefault { return nil }
            // Checked as the Float it becomes: 1e-50 passes as a Double and is 0 as a Float.
            guard v.isFinite, v > 0, v <= limit, Float(v).isNormal, (1 / Float(v)).isNormal else {
                throw ValidationError("\(flag) must be a positive number up to \(limit)\(negativeIsDefault ? " (or negative for the default)" : " (or 0 for the model's)"), got \(v)")
            }
            return Float(v)
        }
        o.freqBase = try value("--rope-freq-base", freqBase, limit: 1e12)
        if scale != nil && freqScale != nil {
            throw ValidationError("--rope-scale and --rope-freq-scale both set the scaling (N and 1/N): pass only one")
        }
        if let s = try value("--rope-scale", scale, limit: 1e6) { o.scaleFactor = s }
        if let f = try value("--rope-freq-scale", freqScale, limit: 1e6) { o.scaleFactor = 1 / f }
        if let yarnOriginalContext {
            guard (0...(1 << 24)).contains(yarnOriginalContext) else {
                throw ValidationError("--yarn-orig-ctx must be between 0 (the model's) and \(1 << 24), got \(yarnOriginalContext)")
            }
            if yarnOriginalContext > 0 { o.yarnOriginalContext = yarnOriginalContext }
        }
        if let yarnExtFactor, yarnExtFactor >= 0 {
            guard yarnExtFactor.isFinite, yarnExtFactor <= 1e3 else {
                throw ValidationError("--yarn-ext-factor must be between 0 and 1000 (or negative for the default), got \(yarnExtFactor)")
            }
            o.yarnExtrapolationFactor = Float(yarnExtFactor)
        }
        o.yarnAttentionFactor = try value("--yarn-attn-factor", yarnAttnFactor, limit: 1e3, negativeIsDefault: true)
        o.yarnBetaSlow = try value("--yarn-beta-slow", yarnBetaSlow, limit: 1e6, negativeIsDefault: true)
        o.yarnBetaFast = try value("--yarn-beta-fast", yarnBetaFast, limit: 1e6, negativeIsDefault: true)
        return o
    }
}
