import GGUF
import CriaNumerics

/// A mixture-of-experts feed-forward block's hyper-parameters: how many experts, how many each
/// token uses, their width, and how router logits become weights. Set by an architecture file
/// (`ModelConfiguration.experts`); nil for dense models.
public struct ExpertConfiguration: Sendable, Equatable {
    /// `expert_count`
    public var count: Int
    /// `expert_used_count` (k)
    public var used: Int
    /// Rows of each expert's gate and up matrices (`expert_feed_forward_length`).
    public var feedForwardLength: Int
    public var gating: ExpertRouting.Gating
    /// Whether the k selected weights are divided by their sum (`expert_weights_norm`).
    public var normalizesWeights: Bool
    /// Multiplier on the weights (`expert_weights_scale`); 0 or 1 for none, as in llama.cpp.
    public var weightScale: Float
    /// The expert FFN's non-linearity.
    public var activation: ExpertActivation
    /// Width of the shared expert that every token uses beside the routed ones (`ffn_*_shexp`
    /// tensors, required when set); nil for none. Set by architectures that have one.
    public var sharedFeedForwardLength: Int?

    /// The common keys under the architecture's prefix; `normalizesWeights` where the
    /// architecture fixes it (Qwen3-MoE always renormalizes), else `expert_weights_norm`.
    init(_ keys: ArchitectureMetadata, gating: ExpertRouting.Gating, normalizesWeights: Bool? = nil,
         activation: ExpertActivation, feedForwardLength ff: Int) throws {
        count = try keys.required("expert_count")
        used = try keys.required("expert_used_count")
        guard count > 0, count <= 4096, used > 0, used <= count else {
            throw ModelError.invalidHyperparameter("\(used) of \(count) experts per token")
        }
        // (a per-layer array gives its first value, as for the other widths)
        feedForwardLength = (try? keys.required("expert_feed_forward_length")) ?? ff / used
        guard feedForwardLength > 0, feedForwardLength <= 1 << 24 else {
            throw ModelError.invalidHyperparameter("expert feed-forward length \(feedForwardLength)")
        }
        self.gating = gating
        self.normalizesWeights = normalizesWeights ?? (keys.metadata.bool(keys.key("expert_weights_norm")) ?? false)
        // (llama.cpp reads `expert_weights_scale` only for the architectures that use it; they set it)
        weightScale = 0
        self.activation = activation
    }

    /// `expert_shared_feed_forward_length`, or `fallback` when absent.
    static func sharedLength(_ keys: ArchitectureMetadata, fallback: Int) throws -> Int {
        let shared = keys.int("expert_shared_feed_forward_length") ?? fallback
        guard shared > 0, shared <= 1 << 24 else { throw ModelError.invalidHyperparameter("shared expert length \(shared)") }
        return shared
    }
}

/// The non-linearity between an expert's gate/up and down products. A case per variant keeps the
/// expert block itself one piece of code (gpt-oss's clamped SwiGLU is another case).
public enum ExpertActivation: Sendable, Equatable {
    /// act(gate)·up, as the dense blocks compute it.
    case gated(Activation)
    /// gpt-oss: min(gate, limit)·σ(α·min(gate, limit))·(clamp(up, ±limit) + 1) (ggml's swiglu_oai).
    case swigluOAI(alpha: Float, limit: Float)

    // out[i] = f(gate[i], up[i])
    func apply(gate: UnsafePointer<Float>, up: UnsafePointer<Float>, count n: Int, into out: UnsafeMutablePointer<Float>,
               path: KernelPath) {
        switch self {
        case .gated(let activation):
            VectorMath.gatedActivation(gate: gate, up: up, count: n, activation: activation, into: out, path: path)
        case .swigluOAI(let alpha, let limit):
            VectorMath.swigluOAI(gate: gate, up: up, count: n, alpha: alpha, limit: limit, into: out)
        }
    }
}

/// One layer's mixture-of-experts tensors: the router (`ffn_gate_inp`), the experts' 3-D
/// gate/up/down tensors (`ffn_{gate,up,down}_exps`), optional per-expert biases and an optional
/// shared expert (`ffn_{gate,up,down}_shexp`, scaled per token by sigmoid(`ffn_gate_inp_shexp`·x)
/// where a file has that vector: Qwen2-MoE).
public struct ExpertLayerWeights: @unchecked Sendable {
    /// experts × embedding: one logit per expert
    public var router: WeightMatrix
    public var routerBias: [Float]?
    public var gate, up, down: ExpertWeights
    /// Per expert, one bias row: `count × rows` floats each.
    public var gateBias, upBias, downBias: [Float]?
    public var sharedGate, sharedUp, sharedDown: WeightMatrix?
    /// 1 × embedding: the shared expert's gate logit
    public var sharedGateInput: WeightMatrix?

    /// Binds layer `prefix`'s tensors (e.g. "blk.3.") with the shapes `c` says.
    init(_ file: GGUFFile, prefix p: String, config c: ModelConfiguration, experts x: ExpertConfiguration,
         matrix: (String, Int, Int) throws -> WeightMatrix, vector: (String, Int) throws -> [Float]) throws {
        let d = c.embeddingLength, ff = x.feedForwardLength, n = x.count
        func experts(_ name: String, columns: Int, rows: Int) throws -> ExpertWeights {
            guard let t = file.tensor(named: name) else { throw ModelError.missingTensor(name) }
            guard t.shape == [columns, rows, n] else {
                throw ModelError.wrongTensorShape(tensor: name, expected: [columns, rows, n], found: t.shape)
            }
            do { return try ExpertWeights(t, in: file) } catch {
                throw ModelError.unsupportedTensorType(tensor: name, type: t.type.name)
            }
        }
        func bias(_ name: String, _ count: Int) throws -> [Float]? {
            guard let t = file.tensor(named: name) else { return nil }
            // [rows, experts] in GGUF order, or flat
            guard t.shape == [count / n, n] || t.shape == [count] else {
                throw ModelError.wrongTensorShape(tensor: name, expected: [count / n, n], found: t.shape)
            }
            do { return try Dequantize.tensor(t, in: file) } catch {
                throw ModelError.unsupportedTensorType(tensor: name, type: t.type.name)
            }
        }
        router = try matrix(p + "ffn_gate_inp.weight", d, n)
        routerBias = file.tensor(named: p + "ffn_gate_inp.bias") == nil ? nil : try vector(p + "ffn_gate_inp.bias", n)
        gate = try experts(p + "ffn_gate_exps.weight", columns: d, rows: ff)
        up = try experts(p + "ffn_up_exps.weight", columns: d, rows: ff)
        down = try experts(p + "ffn_down_exps.weight", columns: ff, rows: d)
        gateBias = try bias(p + "ffn_gate_exps.bias", n * ff)
        upBias = try bias(p + "ffn_up_exps.bias", n * ff)
        downBias = try bias(p + "ffn_down_exps.bias", n * d)
        if let shared = x.sharedFeedForwardLength {
            sharedGate = try matrix(p + "ffn_gate_shexp.weight", d, shared)
            sharedUp = try matrix(p + "ffn_up_shexp.weight", d, shared)
            sharedDown = try matrix(p + "ffn_down_shexp.weight", shared, d)
            let name = p + "ffn_gate_inp_shexp.weight"
            if let t = file.tensor(named: name) {
                // a vector [n_embd] (llama.cpp also accepts [n_embd, 1])
                guard t.shape == [d] || t.shape == [d, 1] else { throw ModelError.wrongTensorShape(tensor: name, expected: [d], found: t.shape) }
                do { sharedGateInput = try WeightMatrix(t, in: file) } catch {
                    throw ModelError.unsupportedTensorType(tensor: name, type: t.type.name)
                }
            }
        }
    }
}

/// Buffers of the expert block for up to `rows` tokens, allocated once per batch size and reused.
final class ExpertScratch {
    typealias P = UnsafeMutablePointer<Float>
    let rows: Int
    // logits: [rows][experts]; selected, weights: [rows][k];
    // gate, up: [rows·k][expert ff] in grouped order; down: [rows·k][embedding] in grouped order
    let logits, weights, gate, up, down: P
    let selected: UnsafeMutablePointer<Int32>
    let matmul = ExpertMatmulScratch()

    init(config c: ModelConfiguration, experts x: ExpertConfiguration, rows n: Int) {
        rows = n
        func make(_ count: Int) -> P {
            let p = P.allocate(capacity: count)
            p.initialize(repeating: 0, count: count)
            return p
        }
        let pairs = n * x.used
        logits = make(n * x.count)
        weights = make(pairs)
        gate = make(pairs * x.feedForwardLength)
        up = make(pairs * x.feedForwardLength)
        down = make(pairs * c.embeddingLength)
        selected = .allocate(capacity: pairs)
        selected.initialize(repeating: 0, count: pairs)
    }

    deinit {
        for p in [logits, weights, gate, up, down] { p.deallocate() }
        selected.deallocate()
    }
}
