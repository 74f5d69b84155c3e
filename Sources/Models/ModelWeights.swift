import GGUF
import CriaNumerics

/// The tensors of one transformer block, bound by name from the GGUF file.
/// Matrices stay in their storage format inside the mapping; norms and biases are small and
/// are copied out as f32.
public struct LayerWeights: @unchecked Sendable {
    public var attentionNorm: [Float]
    public var query, key, value, output: WeightMatrix
    public var queryBias, keyBias, valueBias: [Float]?
    public var queryNorm, keyNorm: [Float]?
    public var postAttentionNorm: [Float]?
    public var ffnNorm: [Float]
    public var gate, up, down: WeightMatrix
    public var postFFNNorm: [Float]?
}

/// All weights of a model, checked against the configuration's shapes at load time so the
/// forward pass never meets a surprise.
public struct ModelWeights: @unchecked Sendable {
    public var tokenEmbedding: WeightMatrix
    public var outputNorm: [Float]
    /// The LM head; the token embedding itself when the model ties them.
    public var output: WeightMatrix
    public var layers: [LayerWeights]

    public init(file: GGUFFile, config c: ModelConfiguration) throws {
        func info(_ name: String, _ shape: [Int]) throws -> GGUFTensorInfo {
            guard let t = file.tensor(named: name) else { throw ModelError.missingTensor(name) }
            guard t.shape == shape else { throw ModelError.wrongTensorShape(tensor: name, expected: shape, found: t.shape) }
            return t
        }
        func matrix(_ name: String, columns: Int, rows: Int) throws -> WeightMatrix {
            let t = try info(name, [columns, rows])
            do { return try WeightMatrix(t, in: file) } catch {
                throw ModelError.unsupportedTensorType(tensor: name, type: t.type.name)
            }
        }
        func vector(_ name: String, _ n: Int) throws -> [Float] {
            let t = try info(name, [n])
            do { return try Dequantize.tensor(t, in: file) } catch {
                throw ModelError.unsupportedTensorType(tensor: name, type: t.type.name)
            }
        }
        func optionalVector(_ name: String, _ n: Int) throws -> [Float]? {
            file.tensor(named: name) == nil ? nil : try vector(name, n)
        }

        let d = c.embeddingLength
        tokenEmbedding = try matrix("token_embd.weight", columns: d, rows: c.vocabularySize)
        outputNorm = try vector("output_norm.weight", d)
        output = file.tensor(named: "output.weight") == nil
            ? tokenEmbedding
            : try matrix("output.weight", columns: d, rows: c.vocabularySize)
        layers = try (0..<c.layerCount).map { i in
            let p = "blk.\(i)."
            return LayerWeights(
                attentionNorm: try vector(p + "attn_norm.weight", d),
                query: try matrix(p + "attn_q.weight", columns: d, rows: c.queryDimension),
                key: try matrix(p + "attn_k.weight", columns: d, rows: c.kvDimension),
                value: try matrix(p + "attn_v.weight", columns: d, rows: c.kvDimension),
                output: try matrix(p + "attn_output.weight", columns: c.queryDimension, rows: d),
                queryBias: try optionalVector(p + "attn_q.bias", c.queryDimension),
                keyBias: try optionalVector(p + "attn_k.bias", c.kvDimension),
                valueBias: try optionalVector(p + "attn_v.bias", c.kvDimension),
                queryNorm: c.hasQKNorm ? try vector(p + "attn_q_norm.weight", c.headDimension) : nil,
                keyNorm: c.hasQKNorm ? try vector(p + "attn_k_norm.weight", c.headDimension) : nil,
                postAttentionNorm: c.hasPostNorms ? try vector(p + "post_attention_norm.weight", d) : nil,
                ffnNorm: try vector(p + "ffn_norm.weight", d),
                gate: try matrix(p + "ffn_gate.weight", columns: d, rows: c.feedForwardLength),
                up: try matrix(p + "ffn_up.weight", columns: d, rows: c.feedForwardLength),
                down: try matrix(p + "ffn_down.weight", columns: c.feedForwardLength, rows: d),
                postFFNNorm: c.hasPostNorms ? try vector(p + "post_ffw_norm.weight", d) : nil
            )
        }
    }
}
