import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where a model given by URL (`-mu`) or Hugging Face repository and file (`-hfr`/`-hff`) is
/// fetched from and kept.
struct ModelSource: Sendable {
    let url: URL
    /// The finished file; `<destination>.part` while downloading.
    let destination: URL
    /// `HF_TOKEN`: sent as `Authorization: Bearer`.
    let token: String?

    /// `-mu URL [-m PATH]`: the file goes to PATH, else into the cache under the URL's file name.
    static func url(_ text: String, path: String?, environment: [String: String]) throws -> ModelSource {
        guard let url = URL(string: text), ["http", "https"].contains(url.scheme?.lowercased() ?? ""), url.host != nil else {
            throw DownloadError("--model-url \(text) is not an http(s) URL")
        }
        let name = url.lastPathComponent.isEmpty || url.lastPathComponent == "/" ? "model.gguf" : url.lastPathComponent
        let destination = path.map { URL(fileURLWithPath: $0) } ?? cacheFolder(environment).appendingPathComponent(name)
        return ModelSource(url: url, destination: destination, token: environment["HF_TOKEN"])
    }

    /// `-hfr OWNER/NAME -hff FILE`: `$HF_ENDPOINT/OWNER/NAME/resolve/main/FILE`, kept in the cache
    /// as `hf/OWNER/NAME/FILE` (or at `-m PATH`).
    static func huggingFace(repo: String, file: String, path: String?, environment: [String: String]) throws -> ModelSource {
        let parts = repo.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, parts.allSatisfy({ !$0.isEmpty && $0 != "." && $0 != ".." }) else {
            throw DownloadError("--hf-repo must be OWNER/NAME, got '\(repo)'")
        }
        let fileParts = file.split(separator: "/")
        guard !file.isEmpty, !fileParts.contains(where: { $0 == ".." || $0 == "." }) else {
            throw DownloadError("--hf-file must be a file path inside the repository, got '\(file)'")
        }
        let endpoint = environment["HF_ENDPOINT"].map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 }
            ?? "https://huggingface.co"
        let escaped = fileParts.map { $0.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? String($0) }
        guard let url = URL(string: "\(endpoint)/\(repo)/resolve/main/\(escaped.joined(separator: "/"))") else {
            throw DownloadError("cannot build a download URL from HF_ENDPOINT \(endpoint), --hf-repo \(repo), --hf-file \(file)")
        }
        let destination = path.map { URL(fileURLWithPath: $0) } ?? fileParts.reduce(
            cacheFolder(environment).appendingPathComponent("hf").appendingPathComponent(String(parts[0]))
                .appendingPathComponent(String(parts[1]))) { $0.appendingPathComponent(String($1)) }
        return ModelSource(url: url, destination: destination, token: environment["HF_TOKEN"])
    }

    /// `$CRIA_CACHE`, else `$XDG_CACHE_HOME/cria`, else `~/.cache/cria`.
    static func cacheFolder(_ environment: [String: String]) -> URL {
        if let folder = environment["CRIA_CACHE"], !folder.isEmpty { return URL(fileURLWithPath: folder) }
        if let xdg = environment["XDG_CACHE_HOME"], !xdg.isEmpty {
            return URL(fileURLWithPath: xdg).appendingPathComponent("cria")
        }
        return FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/cria")
    }
}

/// A download that could not be done; the message says what to change.
struct DownloadError: Error, CustomStringConvertible {
    let description: String
    /// Another attempt may succeed (a cut connection, a server error).
    var isRetryable = false
    /// The server could not be reached or the connection broke.
    var isNetwork = false

    init(_ description: String) { self.description = description }

    init(retryable: Bool, _ description: String) {
        self.description = description
        isRetryable = retryable
    }

    init(network error: any Error, url: URL) {
        description = "\(url): \(error.localizedDescription)"
        isRetryable = true
        isNetwork = true
    }
}

/// What the cache keeps beside a finished file (`FILE.json`), to tell whether the server's copy
/// changed since.
struct DownloadRecord: Codable, Equatable {
    var url: String
    var etag: String?
    var size: Int64
}

/// Fetches a `ModelSource` into its destination: resumable (`.part` file, HTTP Range), renamed
/// into place only when complete and of the announced size, and kept: a later start checks the
/// server's ETag and size (a HEAD request) and downloads again only when they changed.
struct ModelDownloader {
    let source: ModelSource
    /// `--offline`: only the cached file, no network.
    var offline = false
    /// Progress and notices (stderr).
    var report: (String) -> Void = { FileHandle.standardError.write(Data(($0 + "\n").utf8)) }
    /// Attempts per download; each resumes where the last one stopped.
    var attempts = 5

    private var partURL: URL { source.destination.appendingPathExtension("part") }
    private var recordURL: URL { source.destination.appendingPathExtension("json") }

    /// The local path of the model, downloading it first when needed.
    func fetch() async throws -> String {
        let path = source.destination.path
        let record = (try? Data(contentsOf: recordURL)).flatMap { try? JSONDecoder().decode(DownloadRecord.self, from: $0) }
        let haveFile = FileManager.default.fileExists(atPath: path)
        if offline {
            guard haveFile else { throw DownloadError("--offline: \(path) is not in the cache; start once without --offline to download \(source.url)") }
            return path
        }
        if haveFile {
            do {
                let remote = try await head()
                if let record, record.size == remote.size, record.etag == remote.etag, fileSize(path) == record.size {
                    report("using cached \(path) (unchanged on the server)")
                    return path
                }
                if record == nil && fileSize(path) == remote.size {
                    report("using \(path) (same size as \(source.url))")
                    return path
                }
                report("\(source.url) changed since it was downloaded: downloading it again")
            } catch let error as DownloadError where error.isNetwork {
                report("cannot reach \(source.url.host ?? "the server") (\(error)): using cached \(path)")
                return path
            }
        }
        try FileManager.default.createDirectory(at: source.destination.deletingLastPathComponent(),
                                                withIntermediateDirectories: true)
        do {
            try await download()
            return path
        } catch {
            // An empty .part file (the server refused at once) is no start worth keeping.
            if fileSize(partURL.path) == 0 { try? FileManager.default.removeItem(at: partURL) }
            throw error
        }
    }

    /// Transfers the file, resuming after interruptions, and moves it into place.
    private func download() async throws {
        for attempt in 1...attempts {
            do {
                try finish(try await transfer())
                return
            } catch let error as DownloadError where error.isRetryable && attempt < attempts {
                report("download interrupted (\(error)); resuming (attempt \(attempt + 1) of \(attempts))")
                try? await Task.sleep(for: .milliseconds(200 * attempt))
            }
        }
    }

    /// Size and ETag the server announces for the file.
    private func head() async throws -> (size: Int64?, etag: String?) {
        var request = makeRequest()
        request.httpMethod = "HEAD"
        let response: URLResponse
        do { (_, response) = try await URLSession.shared.data(for: request) } catch {
            throw DownloadError(network: error, url: source.url)
        }
        guard let http = response as? HTTPURLResponse else { throw DownloadError("\(source.url): not an HTTP response") }
        try check(status: http.statusCode)
        return (http.expectedContentLength >= 0 ? http.expectedContentLength : nil, http.value(forHTTPHeaderField: "ETag"))
    }

    private func makeRequest() -> URLRequest {
        var request = URLRequest(url: source.url, cachePolicy: .reloadIgnoringLocalCacheData, timeoutInterval: 60)
        if let token = source.token, !token.isEmpty { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        request.setValue("cria", forHTTPHeaderField: "User-Agent")
        return request
    }

    /// Throws the message for an HTTP error status.
    private func check(status: Int) throws {
        switch status {
        case 200..<300: return
        case 401, 403:
            throw DownloadError("\(source.url): access denied (HTTP \(status)); for a gated or private Hugging Face "
                                + "repository set HF_TOKEN to a token that may read it")
        case 404: throw DownloadError("\(source.url): not found (HTTP 404); check the URL, or --hf-repo and --hf-file")
        case 416: throw DownloadError(retryable: true, "\(source.url): the server refused to resume (HTTP 416)")
        case 500...: throw DownloadError(retryable: true, "\(source.url): server error (HTTP \(status))")
        default: throw DownloadError("\(source.url): HTTP \(status)")
        }
    }

    /// One attempt: GET from where the `.part` file ends. Returns the record of the whole file.
    private func transfer() async throws -> DownloadRecord {
        let already = fileSize(partURL.path) ?? 0
        var request = makeRequest()
        if already > 0 { request.setValue("bytes=\(already)-", forHTTPHeaderField: "Range") }
        let sink = try PartFile(url: partURL, offset: already)
        defer { sink.close() }
        let delegate = TransferDelegate(sink: sink, requestedOffset: already, progress: ProgressReport(report: report))
        let session = URLSession(configuration: .ephemeral, delegate: delegate, delegateQueue: nil)
        defer { session.finishTasksAndInvalidate() }
        let outcome = await delegate.run(session.dataTask(with: request))
        if let status = outcome.status, !(200..<300).contains(status) {
            if status == 416 { try? FileManager.default.removeItem(at: partURL) }
            try check(status: status)
        }
        if let writeError = outcome.writeError { throw writeError }
        if let error = outcome.error { throw DownloadError(network: error, url: source.url) }
        guard let total = outcome.total else {
            throw DownloadError(retryable: true, "\(source.url): the server sent no length for the file")
        }
        let written = fileSize(partURL.path) ?? 0
        guard written == total else {
            throw DownloadError(retryable: true, "\(source.url): got \(written) of \(total) bytes")
        }
        return DownloadRecord(url: source.url.absoluteString, etag: outcome.etag, size: total)
    }

    /// Moves the complete `.part` file into place (one rename: readers never see half a file)
    /// and records its ETag and size.
    private func finish(_ record: DownloadRecord) throws {
        let path = source.destination.path
        guard rename(partURL.path, path) == 0 else {
            throw DownloadError("cannot move \(partURL.path) to \(path): \(String(cString: strerror(errno)))")
        }
        if let data = try? JSONEncoder().encode(record) { try? data.write(to: recordURL, options: .atomic) }
        report("downloaded \(source.url) to \(path) (\(ProgressReport.mebibytes(record.size)))")
    }

    private func fileSize(_ path: String) -> Int64? {
        (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.int64Value
    }
}

/// close(2) of this platform's C library (named apart from `PartFile.close`).
private func systemClose(_ fd: Int32) -> Int32 {
    #if canImport(Glibc)
    Glibc.close(fd)
    #else
    Darwin.close(fd)
    #endif
}

/// The `.part` file, written with write(2) so that a full disk is an error, not a trap.
final class PartFile: @unchecked Sendable {
    private var fd: Int32
    let url: URL

    /// Opens `url` to append at `offset` (emptying it when `offset` is 0).
    init(url: URL, offset: Int64) throws {
        self.url = url
        fd = open(url.path, O_WRONLY | O_CREAT | O_CLOEXEC | (offset == 0 ? O_TRUNC : 0), 0o644)
        guard fd >= 0 else { throw DownloadError("cannot write \(url.path): \(String(cString: strerror(errno)))") }
        _ = lseek(fd, off_t(offset), SEEK_SET)
    }

    /// Starts the file over (the server ignored the Range request and sent it whole).
    func restart() throws {
        guard ftruncate(fd, 0) == 0, lseek(fd, 0, SEEK_SET) == 0 else {
            throw DownloadError("cannot rewrite \(url.path): \(String(cString: strerror(errno)))")
        }
    }

    func append(_ data: Data) throws {
        try data.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = write(fd, raw.baseAddress! + offset, raw.count - offset)
                if n > 0 { offset += n; continue }
                if n < 0 && errno == EINTR { continue }
                let reason = errno == ENOSPC ? "the disk is full" : String(cString: strerror(errno))
                throw DownloadError("cannot write \(url.path): \(reason) (free some space, or point CRIA_CACHE elsewhere)")
            }
        }
    }

    func close() {
        if fd >= 0 { _ = systemClose(fd) }
        fd = -1
    }
}

/// Receives one GET's response and body, appending to the `.part` file as bytes arrive.
final class TransferDelegate: NSObject, URLSessionDataDelegate, @unchecked Sendable {
    struct Outcome {
        var status: Int?
        var total: Int64?
        var etag: String?
        var error: (any Error)?
        var writeError: DownloadError?
    }

    private let sink: PartFile
    private let requestedOffset: Int64
    private let progress: ProgressReport
    private let lock = NSLock()
    private var outcome = Outcome()
    private var received: Int64 = 0
    private var start: Int64 = 0
    private var continuation: CheckedContinuation<Outcome, Never>?

    init(sink: PartFile, requestedOffset: Int64, progress: ProgressReport) {
        self.sink = sink
        self.requestedOffset = requestedOffset
        self.progress = progress
    }

    func run(_ task: URLSessionDataTask) async -> Outcome {
        await withCheckedContinuation { continuation in
            lock.withLock { self.continuation = continuation }
            task.resume()
        }
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
                    completionHandler: @escaping (URLSession.ResponseDisposition) -> Void) {
        guard let http = response as? HTTPURLResponse else { return completionHandler(.cancel) }
        var disposition = URLSession.ResponseDisposition.allow
        lock.withLock {
            outcome.status = http.statusCode
            outcome.etag = http.value(forHTTPHeaderField: "ETag")
            let length = http.expectedContentLength
            switch http.statusCode {
            case 206:
                // Content-Range: bytes START-END/TOTAL
                let range = http.value(forHTTPHeaderField: "Content-Range") ?? ""
                let numbers = range.split(whereSeparator: { !$0.isNumber }).compactMap { Int64($0) }
                start = numbers.first ?? requestedOffset
                outcome.total = numbers.count == 3 ? numbers[2] : (length >= 0 ? start + length : nil)
                if start != requestedOffset { disposition = .cancel }
            case 200:
                start = 0
                outcome.total = length >= 0 ? length : nil
                if requestedOffset > 0 {
                    do { try sink.restart() } catch let error as DownloadError {
                        outcome.writeError = error
                        disposition = .cancel
                    } catch {}
                }
            default:
                disposition = .cancel
            }
        }
        if disposition == .allow { progress.begin(done: start, total: lock.withLock { outcome.total }) }
        completionHandler(disposition)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        let (failed, done, total) = lock.withLock { () -> (Bool, Int64, Int64?) in
            guard outcome.writeError == nil else { return (true, 0, nil) }
            do { try sink.append(data) } catch let error as DownloadError {
                outcome.writeError = error
                return (true, 0, nil)
            } catch { return (true, 0, nil) }
            received += Int64(data.count)
            return (false, start + received, outcome.total)
        }
        if failed { dataTask.cancel() } else { progress.update(done: done, total: total) }
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: (any Error)?) {
        progress.end()
        let (continuation, result) = lock.withLock { () -> (CheckedContinuation<Outcome, Never>?, Outcome) in
            if let error, outcome.writeError == nil, (outcome.status.map { (200..<300).contains($0) } ?? true) {
                outcome.error = error
            }
            defer { self.continuation = nil }
            return (self.continuation, outcome)
        }
        continuation?.resume(returning: result)
    }
}

/// Download progress: a bar redrawn in place on a terminal, else a plain line every 10%.
final class ProgressReport: @unchecked Sendable {
    private let report: (String) -> Void
    private let terminal = isatty(STDERR_FILENO) == 1
    private let lock = NSLock()
    private var lastTenth = -1
    private var lastDraw = Date.distantPast
    private var started = Date()
    private var startBytes: Int64 = 0
    private var drewBar = false

    init(report: @escaping (String) -> Void) { self.report = report }

    static func mebibytes(_ bytes: Int64) -> String { String(format: "%.1f MiB", Double(bytes) / 1_048_576) }

    func begin(done: Int64, total: Int64?) {
        lock.withLock {
            started = Date()
            startBytes = done
            lastTenth = total.map { Int(done * 10 / max(1, $0)) } ?? -1
        }
        if done > 0 { report("resuming at \(Self.mebibytes(done))" + (total.map { " of \(Self.mebibytes($0))" } ?? "")) }
    }

    func update(done: Int64, total: Int64?) {
        let line: String? = lock.withLock {
            let now = Date()
            let rate = Double(done - startBytes) / max(0.001, now.timeIntervalSince(started))
            let speed = Self.mebibytes(Int64(rate)) + "/s"
            if terminal {
                guard now.timeIntervalSince(lastDraw) > 0.1 || done == total else { return nil }
                lastDraw = now
                drewBar = true
                guard let total, total > 0 else { return "\r\(Self.mebibytes(done)) \(speed)   " }
                let width = 30, filled = Int(Int64(width) * done / total)
                let bar = String(repeating: "=", count: filled) + String(repeating: " ", count: width - filled)
                return "\r[\(bar)] \(done * 100 / total)% \(Self.mebibytes(done)) of \(Self.mebibytes(total)) \(speed)   "
            }
            guard let total, total > 0 else { return nil }
            let tenth = Int(done * 10 / total)
            guard tenth > lastTenth else { return nil }
            lastTenth = tenth
            return "downloaded \(tenth * 10)% (\(Self.mebibytes(done)) of \(Self.mebibytes(total)), \(speed))"
        }
        guard let line else { return }
        if terminal { FileHandle.standardError.write(Data(line.utf8)) } else { report(line) }
    }

    func end() {
        let newline = lock.withLock { () -> Bool in
            defer { drewBar = false }
            return drewBar
        }
        if newline { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}
