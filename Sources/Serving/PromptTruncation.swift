/// What happens to a prompt that does not fit a slot's context, as the spec's server does it:
/// the first `keep` tokens (`n_keep`) stay, then whole blocks of half the remaining room are
/// dropped from just after them, so the end of the prompt (what the model continues) survives
/// and the result leaves room to generate.
enum PromptTruncation {
    /// The prompt to evaluate: `prompt` itself when it fits, otherwise the truncated prompt,
    /// always shorter than `contextSize`. Nil when `contextSize` is too small to hold any prompt.
    static func fit(_ prompt: [Int32], keep: Int, contextSize: Int) -> [Int32]? {
        if prompt.count < contextSize { return prompt }
        guard contextSize >= 2 else { return nil }
        // Leave at least 4 cells past the kept head, so there is something to drop from and room after.
        let keep = max(0, min(keep, contextSize - 4))
        let blockSize = (contextSize - keep) / 2
        let erasedBlocks = (prompt.count - keep - blockSize) / blockSize
        return Array(prompt[..<keep]) + prompt[(keep + erasedBlocks * blockSize)...]
    }
}
