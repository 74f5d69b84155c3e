/// Group attention ("self-extend", `--grp-attn-n N --grp-attn-w W`) for one slot: the position
/// bookkeeping that lets a model attend over more tokens than it was trained on, by giving groups
/// of N old tokens one position (arXiv:2401.01325, as llama-server applied it at the spec's commit).
///
/// Tokens enter at consecutive positions. Once the next position reaches `index + width`, the
/// cached positions are rearranged by three KV operations (shift, divide by N, shift), `position`
/// drops by `width/N·(N−1)` and `index` advances by `width/N`; so the most recent tokens keep
/// distinct positions and older ones share positions N at a time.
///
/// Differences from that server, on purpose: a prompt chunk never crosses a window boundary (the
/// server assigned positions ahead with a shortcut that gives the same positions), and a decoded
/// token gets its position after the rearrangement (the server placed the first token after a
/// boundary at the position from before it, one token out of sequence); each slot advances by its
/// own rows (the server added the whole batch's row count to every slot).
struct SelfExtend: Equatable {
    /// N: how many old tokens share a position.
    let factor: Int
    /// W: the window of positions compressed at a time (a multiple of N).
    let width: Int
    /// `ga_i`: where the next window starts.
    private(set) var index = 0
    /// `n_past_se`: the position the next token gets.
    private(set) var position = 0

    /// One rearrangement of cached positions in [lower, upper).
    enum Operation: Equatable {
        case add(lower: Int, upper: Int, delta: Int)
        case divide(lower: Int, upper: Int, divisor: Int)
    }

    init(factor: Int, width: Int) {
        precondition(factor > 1 && width > 0 && width % factor == 0)
        self.factor = factor
        self.width = width
    }

    /// Tokens that can enter before the next rearrangement is due.
    var room: Int { index + width - position }

    /// The rearrangements due before the next token enters (none while there is room), applied
    /// to this bookkeeping; the caller applies them to the cache in order.
    mutating func rearrange() -> [Operation] {
        var operations: [Operation] = []
        while position >= index + width {
            let ib = factor * index / width
            let bd = width / factor * (factor - 1)
            let dd = width / factor - ib * bd - width
            operations.append(.add(lower: index, upper: position, delta: ib * bd))
            operations.append(.divide(lower: index + ib * bd, upper: index + ib * bd + width, divisor: factor))
            operations.append(.add(lower: index + ib * bd + width, upper: position + ib * bd, delta: dd))
            position -= bd
            index += width / factor
        }
        return operations
    }

    /// `count` tokens entered at positions `position ..< position + count`.
    mutating func advance(by count: Int) { position += count }
}
