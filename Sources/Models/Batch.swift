/// One step's worth of work for the model: rows of (sequence, position, token), each asking
/// for logits or not. Rows of one sequence must come in increasing position order and follow
/// that sequence's cached positions.
public struct Batch: Sendable {
    public struct Row: Sendable, Equatable {
        public var token: Int32
        public var position: Int32
        public var sequence: Int
        public var wantsLogits: Bool

        public init(token: Int32, position: Int32, sequence: Int, wantsLogits: Bool) {
            self.token = token
            self.position = position
            self.sequence = sequence
            self.wantsLogits = wantsLogits
        }
    }

    public var rows: [Row] = []
    /// LoRA scales (one per adapter id of the model) for the rows of a sequence, by sequence;
    /// sequences without an entry use the model's `adapterScales`.
    public var adapterScales: [Int: [Float]] = [:]

    public init(rows: [Row] = []) { self.rows = rows }

    /// A batch for one sequence's consecutive tokens starting at `position`; logits for the
    /// last row only, unless `allLogits`.
    public init(tokens: [Int32], startPosition: Int, sequence: Int = 0, allLogits: Bool = false) {
        rows = tokens.enumerated().map { i, t in
            Row(token: t, position: Int32(startPosition + i), sequence: sequence,
                wantsLogits: allLogits || i == tokens.count - 1)
        }
    }

    public mutating func append(_ row: Row) { rows.append(row) }

    public var count: Int { rows.count }
    public var logitRowCount: Int { rows.reduce(0) { $0 + ($1.wantsLogits ? 1 : 0) } }
}
