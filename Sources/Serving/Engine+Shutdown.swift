/// The end of a graceful shutdown: when the grace period for running requests is over, every
/// generation ends at once as if it had reached its limit, so streaming clients still get their
/// final event (`stop_type` `limit`, OpenAI `finish_reason` `length`) instead of a cut stream.
extension Engine {
    /// Ends every running generation at the next step; queued and later work fails with
    /// `.stopped`. Cannot be undone: the server is on its way out.
    public func endAllGenerations() {
        condition.withLock {
            endingAll = true
            condition.broadcast()
        }
    }

    /// Whether `endAllGenerations` was called.
    public var isEndingAll: Bool { condition.withLock { endingAll } }

    /// Loop step: once ending, finish every busy slot's generation and refuse the queue.
    func endGenerationsWhenEnding() {
        let (ending, queued) = condition.withLock { () -> (Bool, [EngineTask]) in
            guard endingAll else { return (false, []) }
            defer { queue.removeAll() }
            return (true, queue)
        }
        guard ending else { return }
        for slot in slots where slot.task != nil { finish(slot, reason: .limit) }
        for task in queued {
            switch task {
            case .generate(let job):
                job.continuation.yield(.failed(.stopped))
                job.continuation.finish()
            case .embed(let job): job.reply(.failure(.stopped))
            case .slotAction(let job): job.reply(.failure(.stopped))
            }
        }
    }
}
