import Foundation

/// A reranker's classification head, as llama.cpp applies it with rank pooling: the last
/// token's final hidden state, through an optional dense layer with tanh (`cls.weight`,
/// `cls.bias`), then the output projection (`cls.output.weight`, `cls.output.bias`), whose first
/// output is the relevance score.
public struct RankingHead: Sendable {
    /// `rows × width`, row-major (each row one output of the layer).
    public struct Layer: Sendable {
        public let weights: [Float]
        public let bias: [Float]?
        public let rows: Int
        public let width: Int

        public init(weights: [Float], bias: [Float]?, rows: Int, width: Int) {
            self.weights = weights
            self.bias = bias
            self.rows = rows
            self.width = width
        }

        func apply(_ x: [Float]) -> [Float] {
            (0..<rows).map { r in
                var sum = Double(bias?[r] ?? 0)
                for j in 0..<width { sum += Double(weights[r * width + j]) * Double(x[j]) }
                return Float(sum)
            }
        }
    }

    public let dense: Layer?
    public let output: Layer
    /// `tokenizer.chat_template.rerank`, if the model has one.
    public let promptTemplate: String?

    public init(dense: Layer?, output: Layer, promptTemplate: String?) {
        self.dense = dense
        self.output = output
        self.promptTemplate = promptTemplate
    }

    /// The relevance score of one query/document pair from its last hidden state.
    func score(_ hidden: [Float]) -> Float {
        var x = hidden
        if let dense { x = dense.apply(x).map { Float(tanh(Double($0))) } }
        return output.apply(x)[0]
    }
}
