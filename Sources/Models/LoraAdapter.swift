import GGUF
import CriaNumerics

/// A GGUF LoRA adapter (`general.type = adapter`, `adapter.type = lora`), checked against the
/// model it adapts and kept in its file's mapping: nothing is merged into the model's weights,
/// so the same loaded model serves rows with and without the adapter.
///
/// Each adapted matrix W (n_out × n_in) has a pair A (rank × n_in, tensor `<W>.lora_a`, GGML
/// shape [n_in, rank]) and B (n_out × rank, tensor `<W>.lora_b`, GGML shape [rank, n_out]);
/// a row's product becomes y = W·x + s·(B·(A·x)) with s = scale·alpha/rank (scale when alpha is 0).
public struct LoraAdapter: @unchecked Sendable {
    /// The path it was loaded from (what `GET /lora-adapters` reports).
    public let path: String
    /// `adapter.lora.alpha`; 0 when absent, which means "no alpha/rank factor".
    public let alpha: Float
    /// pairs[layer][target.rawValue]: nil where the adapter leaves that matrix alone.
    let pairs: [[LoraPair?]]
    /// Holds the mapping the pairs' matrices point into.
    private let file: GGUFFile

    public init(path: String, model: TransformerModel) throws(LoraError) {
        let file: GGUFFile
        do { file = try GGUFFile(path: path) } catch {
            throw .unreadable(path: path, reason: "\(error)")
        }
        try self.init(file: file, path: path, model: model)
    }

    public init(file: GGUFFile, path: String, model: TransformerModel) throws(LoraError) {
        let m = file.metadata
        func require(_ key: String, _ expected: String) throws(LoraError) {
            let found = m.string(key) ?? ""
            guard found == expected else { throw .notAnAdapter(path: path, key: key, expected: expected, found: found) }
        }
        try require("general.type", "adapter")
        try require("adapter.type", "lora")
        try require("general.architecture", model.config.architecture)
        let alpha = m.float("adapter.lora.alpha") ?? 0
        guard alpha.isFinite else { throw .badTensor(path: path, tensor: "adapter.lora.alpha", reason: "is not finite") }
        self.alpha = alpha
        self.path = path
        self.file = file
        pairs = try Self.bindPairs(file, path: path, model: model)
    }

    /// The factor a row's B·(A·x) is multiplied by for a user scale.
    func factor(_ pair: LoraPair, scale: Float) -> Float {
        alpha != 0 ? scale * alpha / Float(pair.rank) : scale
    }

    /// Whether the adapter changes any matrix at all (an adapter with only norm tensors does not).
    public var pairCount: Int { pairs.reduce(0) { $0 + $1.compactMap { $0 }.count } }

    /// Pairs every `X.lora_a` with its `X.lora_b`, checks that X is a matrix of the model that
    /// Cria adapts and that the shapes fit it.
    private static func bindPairs(_ file: GGUFFile, path: String, model: TransformerModel) throws(LoraError) -> [[LoraPair?]] {
        var halves: [String: (a: GGUFTensorInfo?, b: GGUFTensorInfo?)] = [:]
        for t in file.tensors {
            if t.name.hasSuffix(".lora_a") {
                halves[String(t.name.dropLast(7)), default: (nil, nil)].a = t
            } else if t.name.hasSuffix(".lora_b") {
                halves[String(t.name.dropLast(7)), default: (nil, nil)].b = t
            } else if t.name.hasSuffix("_norm.weight") {
                continue  // llama.cpp ignores adapted norms too; most adapters work without them
            } else {
                throw .badTensor(path: path, tensor: t.name, reason: "is neither a .lora_a nor a .lora_b tensor")
            }
        }
        var pairs = [[LoraPair?]](repeating: [LoraPair?](repeating: nil, count: LoraTarget.allCases.count),
                                  count: model.config.layerCount)
        for name in halves.keys.sorted() {
            let (a, b) = halves[name]!
            guard let a, let b else {
                throw .badTensor(path: path, tensor: name, reason: "has only one of its .lora_a/.lora_b pair")
            }
            guard let base = model.file.tensor(named: name) else {
                throw .badTensor(path: path, tensor: name, reason: "does not exist in the model (wrong base model?)")
            }
            guard let (layer, target) = LoraTarget.parse(name, layers: model.config.layerCount) else {
                throw .badTensor(path: path, tensor: name, reason: "is not one of the attention or feed-forward matrices "
                    + "Cria adapts (\(LoraTarget.allCases.map(\.tensorSuffix).joined(separator: ", ")))")
            }
            let nIn = base.shape[0], nOut = base.rowCount
            let rank = a.shape.count == 2 ? a.shape[1] : 0
            guard a.shape.count == 2, b.shape.count == 2, a.shape[0] == nIn, b.shape[1] == nOut else {
                throw .badTensor(path: path, tensor: name, reason: "has lora_a \(a.shape) and lora_b \(b.shape), "
                    + "which do not fit the model's \(base.shape) (wrong base model?)")
            }
            guard rank > 0, b.shape[0] == rank else {
                throw .badTensor(path: path, tensor: name, reason: "has lora_a \(a.shape) and lora_b \(b.shape): "
                    + "lora_a must be [n_in, rank] and lora_b [rank, n_out]")
            }
            do {
                pairs[layer][target.rawValue] = LoraPair(a: try WeightMatrix(a, in: file), b: try WeightMatrix(b, in: file))
            } catch {
                throw .badTensor(path: path, tensor: name, reason: "has a type Cria cannot compute with (\(a.type.name)/\(b.type.name))")
            }
        }
        return pairs
    }
}

/// One adapted matrix's low-rank pair: A is rank × n_in, B is n_out × rank.
struct LoraPair {
    let a: WeightMatrix
    let b: WeightMatrix
    var rank: Int { a.rows }
}

/// The matrices of a transformer block an adapter may change, named as in GGUF.
public enum LoraTarget: Int, CaseIterable, Sendable {
    case query, key, value, output, gate, up, down

    var tensorSuffix: String {
        switch self {
        case .query: "attn_q.weight"
        case .key: "attn_k.weight"
        case .value: "attn_v.weight"
        case .output: "attn_output.weight"
        case .gate: "ffn_gate.weight"
        case .up: "ffn_up.weight"
        case .down: "ffn_down.weight"
        }
    }

    /// (layer, target) for "blk.N.<suffix>", nil for any other name.
    static func parse(_ name: String, layers: Int) -> (Int, LoraTarget)? {
        let parts = name.split(separator: ".", maxSplits: 2)
        guard parts.count == 3, parts[0] == "blk", let layer = Int(parts[1]), layer >= 0, layer < layers,
              let target = allCases.first(where: { $0.tensorSuffix == parts[2] }) else { return nil }
        return (layer, target)
    }
}

/// Why a LoRA adapter could not be loaded, naming the file and the tensor or key at fault.
public enum LoraError: Error, CustomStringConvertible, Equatable {
    case unreadable(path: String, reason: String)
    case notAnAdapter(path: String, key: String, expected: String, found: String)
    case badTensor(path: String, tensor: String, reason: String)

    public var description: String {
        switch self {
        case let .unreadable(path, reason): return "LoRA adapter \(path): cannot read it: \(reason)"
        case let .notAnAdapter(path, key, expected, found):
            return "\(path) is not a LoRA adapter for this model: \(key) is '\(found)', expected '\(expected)'"
        case let .badTensor(path, tensor, reason): return "LoRA adapter \(path): tensor '\(tensor)' \(reason)"
        }
    }
}
