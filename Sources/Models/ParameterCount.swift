import GGUF

/// How many weights a model has and how many one token uses: for a mixture-of-experts model only
/// `expert_used_count` of every layer's `expert_count` experts are active per token; for a dense
/// model active equals total. Bytes are in the file's storage formats, the weights a decode step
/// reads (the token embedding counted whole, as llama-bench counts it).
public struct ParameterCount: Sendable, Equatable {
    public var total: Int
    public var active: Int
    public var totalBytes: Int
    public var activeBytes: Int

    public init(file: GGUFFile, config: ModelConfiguration) {
        total = 0
        active = 0
        totalBytes = 0
        activeBytes = 0
        for t in file.tensors {
            total += t.elementCount
            totalBytes += t.byteCount
            // expert tensors (`ffn_*_exps.weight` / `.bias`): k of n experts per token
            if let x = config.experts, t.name.contains("_exps.") {
                active += t.elementCount / x.count * x.used
                activeBytes += t.byteCount / x.count * x.used
            } else {
                active += t.elementCount
                activeBytes += t.byteCount
            }
        }
    }
}

extension TransformerModel {
    /// Total and per-token parameters of this model (see `ParameterCount`).
    public var parameterCount: ParameterCount { ParameterCount(file: file, config: config) }
}
