#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// read(2) of the C library this platform has.
private func systemRead(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int) -> Int {
    #if canImport(Glibc)
    Glibc.read(fd, buffer, count)
    #else
    Darwin.read(fd, buffer, count)
    #endif
}

/// The bytes of a GGUF file: memory-mapped read-only (the default, so weights are paged in on
/// demand and shared between processes) or read fully into memory (`--no-mmap`), or borrowed
/// from a caller's buffer (tests). It owns the mapping or allocation and releases it on deinit.
public final class GGUFStorage: @unchecked Sendable {
    public enum LoadMode: Sendable { case mmap, read }

    /// What a requested `mlock` did. Locking is best effort, as in llama.cpp: a failure (usually
    /// RLIMIT_MEMLOCK) still leaves usable bytes, so callers report it rather than fail.
    public enum LockOutcome: Sendable, Equatable {
        case notRequested
        case locked
        case failed(reason: String)
    }

    public let bytes: UnsafeRawBufferPointer
    /// Set once by the path initializer; never changes afterwards.
    public private(set) var lockOutcome: LockOutcome = .notRequested
    private let release: @Sendable (UnsafeRawBufferPointer) -> Void

    /// Wraps bytes that stay valid until `release` is called with them.
    public init(bytes: UnsafeRawBufferPointer, release: @escaping @Sendable (UnsafeRawBufferPointer) -> Void) {
        self.bytes = bytes
        self.release = release
    }

    /// Copies `data` into storage this object owns.
    public convenience init(copying data: [UInt8]) {
        let raw = UnsafeMutableRawBufferPointer.allocate(byteCount: max(data.count, 1), alignment: 64)
        data.withUnsafeBytes { src in
            if let base = src.baseAddress { raw.baseAddress!.copyMemory(from: base, byteCount: src.count) }
        }
        self.init(bytes: UnsafeRawBufferPointer(rebasing: raw[0..<data.count])) { b in
            UnsafeMutableRawPointer(mutating: b.baseAddress)?.deallocate()
        }
    }

    /// Opens `path` with the given mode; `mlock` additionally pins the pages in RAM (best effort).
    public convenience init(path: String, mode: LoadMode = .mmap, mlock lockPages: Bool = false) throws {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw GGUFError.cannotOpen(path: path, reason: Self.errnoText()) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw GGUFError.cannotOpen(path: path, reason: Self.errnoText()) }
        guard (st.st_mode & S_IFMT) == S_IFREG else {
            throw GGUFError.cannotOpen(path: path, reason: "not a regular file")
        }
        let size = Int(st.st_size)
        guard size > 0 else {
            self.init(bytes: UnsafeRawBufferPointer(start: nil, count: 0)) { _ in }
            return
        }
        switch mode {
        case .mmap:
            guard let base = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), base != MAP_FAILED else {
                throw GGUFError.cannotOpen(path: path, reason: "mmap failed: " + Self.errnoText())
            }
            let outcome = lockPages ? Self.lock(base, size) : .notRequested
            self.init(bytes: UnsafeRawBufferPointer(start: base, count: size)) { b in
                _ = munmap(UnsafeMutableRawPointer(mutating: b.baseAddress), b.count)
            }
            lockOutcome = outcome
            isFileMapping = true
        case .read:
            // Anonymous pages advised for huge pages: decode streams the weights read as stored
            // from here, and 2 MiB pages stream faster than 4 KiB ones (see HugePageArena).
            #if os(Linux)
            let anonymous = MAP_ANONYMOUS
            #else
            let anonymous = MAP_ANON
            #endif
            guard let raw = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | anonymous, -1, 0), raw != MAP_FAILED else {
                throw GGUFError.cannotOpen(path: path, reason: "cannot allocate \(size) bytes: " + Self.errnoText())
            }
            #if os(Linux)
            _ = madvise(raw, size, Int32(MADV_HUGEPAGE))
            #endif
            var done = 0
            while done < size {
                let n = systemRead(fd, raw + done, size - done)
                if n <= 0 {
                    let reason = n == 0 ? "unexpected end of file" : Self.errnoText()
                    _ = munmap(raw, size)
                    throw GGUFError.cannotOpen(path: path, reason: reason)
                }
                done += n
            }
            let outcome = lockPages ? Self.lock(raw, size) : .notRequested
            self.init(bytes: UnsafeRawBufferPointer(start: raw, count: size)) { b in
                _ = munmap(UnsafeMutableRawPointer(mutating: b.baseAddress), b.count)
            }
            lockOutcome = outcome
        }
    }

    deinit { release(bytes) }

    /// Whether the bytes are a read-only file mapping (pages the kernel can drop and re-read).
    public private(set) var isFileMapping = false

    /// Whether `releasePages` takes pages out of memory (an unlocked file mapping).
    public var releasesPages: Bool { isFileMapping && lockOutcome == .notRequested }

    /// Tells the operating system that the whole pages inside `count` bytes at `start` are not
    /// needed for now (a packed copy replaced them): they leave this process's resident memory
    /// and are read back from the file on the next access. Only for an unlocked file mapping,
    /// where that is safe; otherwise nothing happens.
    public func releasePages(_ start: UnsafeRawPointer, byteCount count: Int) {
        guard releasesPages, count > 0, let base = bytes.baseAddress,
              start >= base, start + count <= base + bytes.count else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        guard page > 0 else { return }
        let first = (Int(bitPattern: start) + page - 1) / page * page
        let end = (Int(bitPattern: start) + count) / page * page
        guard first < end, let p = UnsafeMutableRawPointer(bitPattern: first) else { return }
        _ = madvise(p, end - first, Int32(MADV_DONTNEED))
    }

    /// Pins `count` bytes at `base` in RAM (faulting them in now). Unlocking is implicit: munmap
    /// and free release the lock with the pages.
    private static func lock(_ base: UnsafeMutableRawPointer, _ count: Int) -> LockOutcome {
        mlock(base, count) == 0 ? .locked : .failed(reason: errnoText())
    }

    private static func errnoText() -> String {
        String(cString: strerror(errno))
    }
}
