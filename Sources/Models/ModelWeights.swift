import GGUF
import CriaNumerics

/// The tensors of one transformer block, bound by name from the GGUF file.
/// Matrices stay in their storage format inside the mapping; norms and biases are small and
/// are copied out as f32.
public struct LayerWeights: @unchecked Sendable {
    /// Input norms; nil where the architecture normalizes only block outputs (OLMo 2).
    public var attentionNorm: [Float]?
    public var query, key, value, output: WeightMatrix
    /// Optional biases, added after their products where a file has them (Qwen2's q/k/v; some
    /// llama-architecture files the output and feed-forward ones).
    public var queryBias, keyBias, valueBias, outputBias: [Float]?
    public var queryNorm, keyNorm: [Float]?
    public var postAttentionNorm: [Float]?
    public var ffnNorm: [Float]?
    /// The dense feed-forward block; nil where the layer routes through experts instead, and
    /// `gate` nil for a feed-forward block without a gate (BERT's act(up·x)).
    public var gate, up, down: WeightMatrix?
    public var gateBias, upBias, downBias: [Float]?
    public var postFFNNorm: [Float]?
    /// LayerNorm biases of the two post-norms (encoders: `attn_output_norm`, `layer_output_norm`).
    public var postAttentionNormBias, postFFNNormBias: [Float]?
    /// One sink logit per query head, joining each head's softmax denominator (gpt-oss).
    public var attentionSinks: [Float]?
    /// The mixture-of-experts block replacing the dense one (ModelConfiguration.experts).
    public var experts: ExpertLayerWeights?
}

/// What an encoder adds to each token embedding before its first layer: row 0 of the token-type
/// embedding (llama.cpp feeds every token as type 0, "sentence A"), the absolute position
/// embedding (BERT; nomic-bert rotates instead), then a LayerNorm.
public struct EncoderInput: @unchecked Sendable {
    public var tokenType: [Float]?
    /// `position_embd`: one row per position up to the training context.
    public var positions: WeightMatrix?
    public var normWeight, normBias: [Float]
}

/// All weights of a model, checked against the configuration's shapes at load time so the
/// forward pass never meets a surprise.
public struct ModelWeights: @unchecked Sendable {
    public var tokenEmbedding: WeightMatrix
    /// The final norm; nil for encoders, whose last layer already ends in a norm.
    public var outputNorm: [Float]?
    /// Encoders only.
    public var encoderInput: EncoderInput?
    /// The LM head; the token embedding itself when the model ties them.
    public var output: WeightMatrix
    public var layers: [LayerWeights]
    /// Per-dimension RoPE divisors (ropeDimensions / 2 each): Llama 3.x's `rope_freqs`, or
    /// LongRoPE's pair (`rope_factors_short` / `_long`), chosen by context size in `ropeFactors`.
    public var ropeFrequencies, ropeFactorsShort, ropeFactorsLong: [Float]?

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

        let d = c.embeddingLength, ff = c.feedForwardLength
        tokenEmbedding = try matrix("token_embd.weight", columns: d, rows: c.vocabularySize)
        outputNorm = c.isEncoder ? nil : try vector("output_norm.weight", d)
        encoderInput = c.isEncoder ? try Self.encoderInput(file: file, config: c, matrix: matrix, vector: vector) : nil
        output = file.tensor(named: "output.weight") == nil
            ? tokenEmbedding
            : try matrix("output.weight", columns: d, rows: c.vocabularySize)
        let half = c.ropeDimensions / 2
        ropeFrequencies = try optionalVector("rope_freqs.weight", half)
        ropeFactorsShort = try optionalVector("rope_factors_short.weight", half)
        ropeFactorsLong = try optionalVector("rope_factors_long.weight", half)
        layers = try (0..<c.layerCount).map { i in
            let p = "blk.\(i)."
            // Fused projections (Phi-3) are split by rows: each output row is its own dot
            // product, so the parts compute exactly what the fused matrix would.
            let (query, key, value): (WeightMatrix, WeightMatrix, WeightMatrix)
            if file.tensor(named: p + "attn_qkv.weight") != nil {
                let qkv = try matrix(p + "attn_qkv.weight", columns: d, rows: c.queryDimension + 2 * c.kvDimension)
                (query, key, value) = (qkv.rows(0, c.queryDimension), qkv.rows(c.queryDimension, c.kvDimension),
                                       qkv.rows(c.queryDimension + c.kvDimension, c.kvDimension))
            } else {
                query = try matrix(p + "attn_q.weight", columns: d, rows: c.queryDimension)
                key = try matrix(p + "attn_k.weight", columns: d, rows: c.kvDimension)
                value = try matrix(p + "attn_v.weight", columns: d, rows: c.kvDimension)
            }
            var experts: ExpertLayerWeights?
            let (gate, up, down): (WeightMatrix?, WeightMatrix?, WeightMatrix?)
            if let x = c.experts {
                experts = try ExpertLayerWeights(file, prefix: p, config: c, experts: x,
                                                 matrix: { try matrix($0, columns: $1, rows: $2) }, vector: vector)
                (gate, up, down) = (nil, nil, nil)
            } else if !c.gatedFeedForward {
                (gate, up) = (nil, try matrix(p + "ffn_up.weight", columns: d, rows: ff))
                down = try matrix(p + "ffn_down.weight", columns: ff, rows: d)
            } else if file.tensor(named: p + "ffn_gate.weight") == nil, file.tensor(named: p + "ffn_up.weight")?.shape == [d, 2 * ff] {
                // gate rows first, then up (llama.cpp's swiglu over the fused output's halves)
                let gateUp = try matrix(p + "ffn_up.weight", columns: d, rows: 2 * ff)
                (gate, up) = (gateUp.rows(0, ff), gateUp.rows(ff, ff))
                down = try matrix(p + "ffn_down.weight", columns: ff, rows: d)
            } else {
                gate = try matrix(p + "ffn_gate.weight", columns: d, rows: ff)
                up = try matrix(p + "ffn_up.weight", columns: d, rows: ff)
                down = try matrix(p + "ffn_down.weight", columns: ff, rows: d)
            }
            // Encoders name their post-norms after what they follow and give them biases.
            let postNames = c.isEncoder ? ("attn_output_norm", "layer_output_norm") : ("post_attention_norm", "post_ffw_norm")
            let hasPostNorms = c.hasPostNorms || c.normalizesResiduals
            let normWidth: (q: Int, k: Int) = c.queryKeyNorm == .wholeRow
                ? (c.queryDimension, c.kvDimension) : (c.headDimension, c.headDimension)
            return LayerWeights(
                attentionNorm: c.normalizesBlockInputs ? try vector(p + "attn_norm.weight", d) : nil,
                query: query, key: key, value: value,
                output: try matrix(p + "attn_output.weight", columns: c.queryDimension, rows: d),
                queryBias: try optionalVector(p + "attn_q.bias", c.queryDimension),
                keyBias: try optionalVector(p + "attn_k.bias", c.kvDimension),
                valueBias: try optionalVector(p + "attn_v.bias", c.kvDimension),
                outputBias: try optionalVector(p + "attn_output.bias", d),
                queryNorm: c.queryKeyNorm != nil ? try vector(p + "attn_q_norm.weight", normWidth.q) : nil,
                keyNorm: c.queryKeyNorm != nil ? try vector(p + "attn_k_norm.weight", normWidth.k) : nil,
                postAttentionNorm: hasPostNorms ? try vector(p + postNames.0 + ".weight", d) : nil,
                ffnNorm: c.normalizesBlockInputs ? try vector(p + c.ffnNormTensor + ".weight", d) : nil,
                gate: gate, up: up, down: down,
                gateBias: experts == nil ? try optionalVector(p + "ffn_gate.bias", ff) : nil,
                upBias: experts == nil ? try optionalVector(p + "ffn_up.bias", ff) : nil,
                downBias: experts == nil ? try optionalVector(p + "ffn_down.bias", d) : nil,
                postFFNNorm: hasPostNorms ? try vector(p + postNames.1 + ".weight", d) : nil,
                postAttentionNormBias: c.normKind == .layer ? try vector(p + postNames.0 + ".bias", d) : nil,
                postFFNNormBias: c.normKind == .layer ? try vector(p + postNames.1 + ".bias", d) : nil,
                attentionSinks: c.hasAttentionSinks ? try vector(p + "attn_sinks.weight", c.headCount) : nil,
                experts: experts
            )
        }
    }

    /// An encoder's token-type row 0 (`token_types`, optional as in llama.cpp), position embedding
    /// (`position_embd`, one row per training position, required when the model has no RoPE) and
    /// embedding LayerNorm (`token_embd_norm`).
    private static func encoderInput(file: GGUFFile, config c: ModelConfiguration,
                                     matrix: (String, Int, Int) throws -> WeightMatrix,
                                     vector: (String, Int) throws -> [Float]) throws -> EncoderInput {
        let d = c.embeddingLength
        var tokenType: [Float]?
        if file.tensor(named: "token_types.weight") != nil {
            let types = try matrix("token_types.weight", d, c.tokenTypeCount)
            var row = [Float](repeating: 0, count: d)
            row.withUnsafeMutableBufferPointer { types.dequantizeRow(0, into: $0.baseAddress!) }
            tokenType = row
        }
        let rotates = c.ropeLayers.contains(true)
        return EncoderInput(tokenType: tokenType,
                            positions: rotates ? nil : try matrix("position_embd.weight", d, c.contextLength),
                            normWeight: try vector("token_embd_norm.weight", d),
                            normBias: try vector("token_embd_norm.bias", d))
    }

    /// The per-dimension RoPE divisors for sequences of up to `capacity` tokens: Llama 3's fixed
    /// ones, or LongRoPE's long factors when the context exceeds the model's original one, as
    /// llama.cpp decides with its context rounded up to a multiple of 256 (llama.cpp pads every
    /// context so), else the short ones; nil for plain RoPE.
    public func ropeFactors(capacity: Int, originalContext: Int) -> [Float]? {
        if let ropeFrequencies { return ropeFrequencies }
        let padded = capacity <= Int.max - 255 ? (capacity + 255) / 256 * 256 : capacity
        return padded > originalContext ? ropeFactorsLong : ropeFactorsShort
    }
}
