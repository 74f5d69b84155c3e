import ArgumentParser
import CriaNumerics

/// The thread-count flags' one reading and range check. As in llama.cpp, a count of 0 or below
/// (llama-server's help shows `-t -1` as the default) means "choose for me"; above
/// `CPUCores.maximumThreads` is a message naming the flag, not a pool that cannot create its
/// threads.
enum ThreadCountCheck {
    static func check(_ flag: String, _ value: Int?) throws {
        guard let value, value > CPUCores.maximumThreads else { return }
        throw ValidationError("\(flag) must be at most \(CPUCores.maximumThreads) (0 or below: the default), got \(value)")
    }

    /// The count a flag asks for, or nil for the default (unset, or 0 or below).
    static func requested(_ value: Int?) -> Int? {
        guard let value, value > 0 else { return nil }
        return value
    }

    /// `-t`: the flag's count or one thread per physical core.
    static func generation(_ value: Int?) -> Int {
        requested(value) ?? CPUCores.defaultThreadCount
    }
}
