#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import NIOCore
import Synchronization

/// Keeps the number of open client connections below the process's file-descriptor limit.
///
/// When a process runs out of descriptors, more than accepting fails: libdispatch's thread
/// monitor, which opens /proc files every second, aborts the process when its `open` gets
/// EMFILE, and NIO's accept loop spins on the failing `accept`. So the server raises its soft
/// limit to the hard one at start and closes connections past `maximum` as soon as they are
/// accepted, leaving `reserve` descriptors for everything else (the model file, logs, slot
/// files, event loops, the runtime's own).
public final class ConnectionLimit: Sendable {
    public let maximum: Int
    private let open = Atomic<Int>(0)
    /// Set while connections are being refused, so the log gets one line per episode.
    private let refusing = Atomic<Bool>(false)
    private let log: ServerLog?

    public init(maximum: Int, log: ServerLog? = nil) {
        self.maximum = max(1, maximum)
        self.log = log
    }

    /// Descriptors kept free of client connections out of a limit of `descriptors`.
    static func reserve(descriptors: Int) -> Int { max(64, descriptors / 8) }

    /// A limit for this process: raises the soft descriptor limit to the hard one (bounded, so
    /// an "unlimited" hard limit does not make the kernel's table the cap), then leaves out the
    /// descriptors already open, three for each HTTP event loop still to start (epoll, eventfd,
    /// timerfd) and the reserve.
    public static func forThisProcess(log: ServerLog?, eventLoops: Int) -> ConnectionLimit {
        let descriptors = raiseDescriptorLimit(log: log)
        let open = openDescriptorCount()
        return ConnectionLimit(maximum: descriptors - open - 3 * eventLoops - reserve(descriptors: descriptors), log: log)
    }

    /// Descriptors this process has open now (0 where the system does not list them).
    static func openDescriptorCount() -> Int {
        for folder in ["/proc/self/fd", "/dev/fd"] {
            if let names = try? FileManager.default.contentsOfDirectory(atPath: folder) { return names.count }
        }
        return 0
    }

    /// The soft RLIMIT_NOFILE after trying to raise it to the hard limit (at most 1 << 20).
    static func raiseDescriptorLimit(log: ServerLog?) -> Int {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 1024 }
        let ceiling: rlim_t = 1 << 20
        let wanted = min(limit.rlim_max, ceiling)
        if limit.rlim_cur < wanted {
            let before = limit.rlim_cur
            limit.rlim_cur = wanted
            // macOS refuses more than OPEN_MAX (10240) whatever the hard limit says.
            var raised = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0
            if !raised, wanted > 10240, before < 10240 {
                limit.rlim_cur = 10240
                raised = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0
            }
            if raised {
                log?.info("raised the open-file limit", ["from": "\(before)", "to": "\(limit.rlim_cur)"])
            } else {
                limit.rlim_cur = before
            }
        }
        return Int(min(limit.rlim_cur, ceiling))
    }

    /// Counts a new connection in; false (and not counted) when `maximum` are already open.
    func admit() -> Bool {
        let now = open.add(1, ordering: .relaxed).newValue
        if now <= maximum {
            if now < maximum * 9 / 10 { refusing.store(false, ordering: .relaxed) }
            return true
        }
        open.subtract(1, ordering: .relaxed)
        if !refusing.exchange(true, ordering: .relaxed) {
            log?.warn("too many open connections: closing new ones until some close",
                      ["limit": "\(maximum)"])
        }
        return false
    }

    /// Counts a connection admitted by `admit` out.
    func release() { open.subtract(1, ordering: .relaxed) }

    /// The handler that admits one connection (one instance per connection).
    func gate() -> ConnectionGate { ConnectionGate(limit: self) }
}

/// The first handler of a connection's pipeline after HTTP decoding: closes the connection at
/// once when `ConnectionLimit` refuses it, and counts it out when it closes.
final class ConnectionGate: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny
    private let limit: ConnectionLimit
    private var admitted = false

    init(limit: ConnectionLimit) { self.limit = limit }

    func handlerAdded(context: ChannelHandlerContext) {
        admitted = limit.admit()
        if !admitted { context.close(promise: nil) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        if admitted { limit.release() }
        admitted = false
    }
}
