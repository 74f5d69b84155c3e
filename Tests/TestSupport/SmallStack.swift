import Foundation

/// Carries a result from the small-stack thread; the semaphore orders the write before the read.
final class SmallStackResult<T>: @unchecked Sendable { var value: T? }

/// Runs `body` on a thread with a `stackBytes` stack and waits for it. Request handlers run on
/// pool threads whose stacks can be this small, so a recursion that is only safe on the main
/// thread's 8 MiB would still crash the server; tests using this would crash the test process.
public func onSmallStack<T: Sendable>(_ stackBytes: Int = 512 << 10, _ body: @escaping @Sendable () -> T) -> T {
    let box = SmallStackResult<T>()
    let done = DispatchSemaphore(value: 0)
    let thread = Thread {
        box.value = body()
        done.signal()
    }
    thread.stackSize = stackBytes
    thread.start()
    done.wait()
    return box.value!
}
