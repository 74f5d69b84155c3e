import Foundation
import Hummingbird
import HummingbirdCore
#if TLS
import HummingbirdTLS
import NIOSSL
#endif

/// HTTPS for every listener: llama-server's `--ssl-key-file` and `--ssl-cert-file`. Like
/// llama-server's LLAMA_SERVER_SSL it is a build option, the package trait `TLS`
/// (`swift build --traits TLS`); without it `load` always fails, saying how to build with TLS.
public struct ServerTLS: Sendable {
    /// True in a build with the `TLS` trait.
    public static var isAvailable: Bool {
        #if TLS
        true
        #else
        false
        #endif
    }

    /// What a build without the trait says when asked for HTTPS.
    public static let unavailableMessage = "this build of cria has no TLS support; rebuild it with "
        + "`swift build -c release --traits TLS` (README: HTTPS), or put a TLS-terminating proxy in front of it"

    #if TLS
    let configuration: TLSConfiguration
    #endif

    /// Reads and checks the PEM private key and certificate (chain, leaf first) before any listener
    /// starts: a missing, unreadable or malformed file, or a key that is not the certificate's,
    /// is a `TLSSetupError` naming the flag and the file.
    public static func load(keyFile: String, certificateFile: String) throws(TLSSetupError) -> ServerTLS {
        #if TLS
        let keyBytes = try read(keyFile, flag: "--ssl-key-file")
        let certificateBytes = try read(certificateFile, flag: "--ssl-cert-file")
        guard contains(certificateBytes, "-----BEGIN CERTIFICATE-----") else {
            throw TLSSetupError("--ssl-cert-file \(certificateFile) holds no PEM certificate (no -----BEGIN CERTIFICATE----- line)")
        }
        let chain: [NIOSSLCertificate]
        do { chain = try NIOSSLCertificate.fromPEMBytes(certificateBytes) } catch {
            throw TLSSetupError("--ssl-cert-file \(certificateFile) is not a valid PEM certificate: \(error)")
        }
        guard !chain.isEmpty else {
            throw TLSSetupError("--ssl-cert-file \(certificateFile) holds no PEM certificate (no -----BEGIN CERTIFICATE----- line)")
        }
        if contains(keyBytes, "ENCRYPTED") {
            throw TLSSetupError("--ssl-key-file \(keyFile) is encrypted; cria needs the PEM private key without a passphrase "
                                + "(openssl pkey -in \(keyFile) -out plain.key writes one)")
        }
        guard contains(keyBytes, "PRIVATE KEY-----") else {
            throw TLSSetupError("--ssl-key-file \(keyFile) holds no PEM private key (no -----BEGIN PRIVATE KEY----- line)")
        }
        let key: NIOSSLPrivateKey
        do { key = try NIOSSLPrivateKey(bytes: keyBytes, format: .pem) } catch {
            throw TLSSetupError("--ssl-key-file \(keyFile) is not a valid PEM private key: \(error)")
        }
        var configuration = TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) },
                                                                     privateKey: .privateKey(key))
        // swift-nio-ssl's server default still allows TLS 1.0 and 1.1; current clients and OpenSSL 3 do not.
        configuration.minimumTLSVersion = .tlsv12
        // Building the context is where BoringSSL checks that the key is the certificate's (and
        // anything else it refuses), so that shows now rather than at the first connection.
        do { _ = try NIOSSLContext(configuration: configuration) } catch {
            throw TLSSetupError("--ssl-key-file \(keyFile) does not go with --ssl-cert-file \(certificateFile) "
                                + "(is it the certificate's private key?): \(error)")
        }
        return ServerTLS(configuration: configuration)
        #else
        throw TLSSetupError("--ssl-key-file/--ssl-cert-file: " + unavailableMessage)
        #endif
    }

    #if TLS
    private static func contains(_ bytes: [UInt8], _ text: String) -> Bool {
        let needle = Array(text.utf8)
        guard bytes.count >= needle.count else { return false }
        return (0...(bytes.count - needle.count)).contains { bytes[$0..<($0 + needle.count)].elementsEqual(needle) }
    }

    private static func read(_ path: String, flag: String) throws(TLSSetupError) -> [UInt8] {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else {
            throw TLSSetupError("\(flag) \(path): no such file")
        }
        guard !isFolder.boolValue else { throw TLSSetupError("\(flag) \(path) is a folder, not a PEM file") }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw TLSSetupError("\(flag) \(path) cannot be read (permissions?)")
        }
        return Array(data)
    }
    #endif

    /// `base` with TLS in front of it.
    func wrapping(_ base: HTTPServerBuilder) throws -> HTTPServerBuilder {
        #if TLS
        try .tls(base, tlsConfiguration: configuration)
        #else
        base  // not reached: without the trait `load` never returns
        #endif
    }
}

/// `--ssl-key-file`/`--ssl-cert-file` cannot be used; the message names the flag and the file.
public struct TLSSetupError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
