/// `--cache-ram`: prompts that slots had to give up, kept in host memory (their tokens and KV
/// cells) so a later request with the same beginning can start from them, as llama-server's
/// host-memory prompt cache does. Owned by the engine thread.
final class PromptRAMCache {
    struct Entry {
        var tokens: [Int32]
        var state: [UInt8]
        var lastUse: Int
    }

    /// Most bytes of KV state kept; nil means no limit (`--cache-ram -1`).
    let limitBytes: Int?
    private(set) var entries: [Entry] = []
    private var clock = 0

    init(limitMiB: Int) {
        limitBytes = limitMiB < 0 ? nil : limitMiB << 20
    }

    var byteCount: Int { entries.reduce(0) { $0 + $1.state.count } }

    /// Keeps a slot's prompt; an entry it extends is replaced, and the least recently used
    /// entries go while the total is over the limit.
    func store(tokens: [Int32], state: [UInt8]) {
        guard !tokens.isEmpty, limitBytes.map({ state.count <= $0 }) ?? true else { return }
        entries.removeAll { commonPrefix($0.tokens, tokens) == $0.tokens.count }
        clock += 1
        entries.append(Entry(tokens: tokens, state: state, lastUse: clock))
        while let limit = limitBytes, byteCount > limit, let oldest = entries.indices.min(by: { entries[$0].lastUse < entries[$1].lastUse }) {
            entries.remove(at: oldest)
        }
    }

    /// Removes and returns the entry sharing the longest prefix with `prompt`, if that prefix is
    /// longer than `better`.
    func take(for prompt: [Int32], longerThan better: Int) -> Entry? {
        let scored = entries.indices.map { ($0, commonPrefix(entries[$0].tokens, prompt)) }
        guard let (index, length) = scored.max(by: { $0.1 < $1.1 }), length > better else { return nil }
        return entries.remove(at: index)
    }
}
