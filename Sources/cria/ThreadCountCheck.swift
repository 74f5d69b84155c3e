import ArgumentParser
import CriaNumerics

/// The one range check every thread-count flag gets, so `-t 0` or `-t 100000` is a message
/// naming the flag instead of a silent single thread or a pool that cannot create its threads.
enum ThreadCountCheck {
    static func check(_ flag: String, _ value: Int?) throws {
        guard let value else { return }
        guard (1...CPUCores.maximumThreads).contains(value) else {
            throw ValidationError("\(flag) must be between 1 and \(CPUCores.maximumThreads), got \(value)")
        }
    }
}
