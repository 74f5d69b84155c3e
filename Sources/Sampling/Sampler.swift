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
    case topK = "top_k"
    case tailFree = "tfs_z"
    case typicalP = "typical_p"
    case topP = "top_p"
    case minP = "min_p"
    case temperature = "temperature"

    /// The spec's default order.
    public static let defaultOrder: [SamplerKind] = [.topK, .tailFree, .typicalP, .topP, .minP, .temperature]

    /// llama.cpp's one-letter code for `--sampling-seq` (k, f, y, p, m, t).
    public var character: Character {
        switch self {
        case .topK: "k"
        case .tailFree: "f"
        case .typicalP: "y"
        case .topP: "p"
        case .minP: "m"
        case .temperature: "t"
        }
    }

    /// Parses a name as listed in the spec (`"top_k"`, …).
    public init?(name: String) {
        self.init(rawValue: name)
    }

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
