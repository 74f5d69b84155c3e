/// A stage of the sampling pipeline: it narrows or reshapes `TokenCandidates`, and a selecting
/// stage (distribution, greedy, mirostat) sets `selectedIndex`.
///
/// Samplers are reference types because some keep per-sequence state (penalty history,
/// mirostat's μ). `accept` is told the token finally emitted; `reset` restores the initial state.
public protocol Sampler: AnyObject {
    /// Name used in diagnostics (the spec's sampler name where there is one).
    var name: String { get }
    /// Transforms the candidates; may use the sequence's random generator.
    func apply(to candidates: TokenCandidates, rng: inout SamplingRandomGenerator)
    /// Records the token that was emitted.
    func accept(_ token: Int32)
    /// Forgets all per-sequence state.
    func reset()
}

extension Sampler {
    public func accept(_ token: Int32) {}
    public func reset() {}
}

/// The configurable samplers of the spec's `samplers` option, in llama.cpp's naming.
public enum SamplerKind: String, Sendable, CaseIterable {
    case dry = "dry"
    case topNSigma = "top_n_sigma"
    case topK = "top_k"
    case tailFree = "tfs_z"
    case typicalP = "typical_p"
    case topP = "top_p"
    case minP = "min_p"
    case xtc = "xtc"
    case temperature = "temperature"

    /// The default order: the spec's, with today's llama-server's DRY and top-n-sigma first and XTC
    /// before temperature (its `penalties;dry;top_n_sigma;top_k;typ_p;top_p;min_p;xtc;temperature`,
    /// where cria always applies the penalties first and keeps the spec's tail-free stage).
    public static let defaultOrder: [SamplerKind] = [.dry, .topNSigma, .topK, .tailFree, .typicalP, .topP, .minP, .xtc, .temperature]

    /// llama.cpp's one-letter code for `--sampling-seq` (d, s, k, f, y, p, m, x, t).
    public var character: Character {
        switch self {
        case .dry: "d"
        case .topNSigma: "s"
        case .xtc: "x"
        case .topK: "k"
        case .tailFree: "f"
        case .typicalP: "y"
        case .topP: "p"
        case .minP: "m"
        case .temperature: "t"
        }
    }

    /// Parses a name as listed in the spec (`"top_k"`, …) or as today's llama-server accepts it:
    /// any case, `-` for `_` or neither (`top-k`, `topk`), `typ_p`, and `nucleus`, `temp`, `typ`.
    public init?(name: String) {
        let lower = name.lowercased()
        if let kind = SamplerKind(rawValue: lower) { self = kind; return }
        let aliases: [String: SamplerKind] = ["typ_p": .typicalP, "typ": .typicalP, "typical": .typicalP,
                                              "nucleus": .topP, "temp": .temperature, "tfs": .tailFree]
        if let kind = aliases[lower] { self = kind; return }
        for kind in SamplerKind.allCases {
            let names = kind == .typicalP ? [kind.rawValue, "typ_p"] : [kind.rawValue]
            for canonical in names where canonical.contains("_") {
                if lower == canonical.replacingOccurrences(of: "_", with: "-")
                    || lower == canonical.replacingOccurrences(of: "_", with: "") {
                    self = kind
                    return
                }
            }
        }
        return nil
    }

    /// llama-server's name for its repetition penalties stage, which cria always applies before the
    /// `samplers` list: accepted in the list and skipped.
    public static let penaltiesName = "penalties"

    /// Parses llama.cpp's compact sequence form, e.g. `"kfypmt"`; nil if any letter is unknown.
    public static func parse(sequence: String) -> [SamplerKind]? {
        var result: [SamplerKind] = []
        for c in sequence {
            guard let kind = allCases.first(where: { $0.character == c }) else { return nil }
            result.append(kind)
        }
        return result
    }
}
