import Crypto
import Foundation

/// Files in a directory on this machine, the default for `atelier dev` and single-host setups.
/// The edge serves them at `/files/<key>` to requests whose URL carries an expiry and an HMAC
/// signature made with a key only the edges hold, so a URL works until it expires and cannot be
/// changed to reach another file, method, type or size.
public struct LocalBlobStore: BlobStore {
    public let directory: URL
    public let publicURL: String
    private let key: SymmetricKey
    private let pool: BoundedWorkPool

    public init(directory: URL, publicURL: String, key: SymmetricKey, pool: BoundedWorkPool) {
        self.directory = directory
        var base = publicURL
        while base.hasSuffix("/") { base.removeLast() }
        self.publicURL = base
        self.key = key
        self.pool = pool
    }

    public func uploadURL(key storageKey: String, contentType: String, size: Int, expires: Date) throws -> URL {
        try signedURL(method: "PUT", key: storageKey, expires: expires, extra: [("type", contentType), ("size", String(size))])
    }

    public func downloadURL(key storageKey: String, expires: Date) throws -> URL {
        try signedURL(method: "GET", key: storageKey, expires: expires, extra: [])
    }

    public func delete(key storageKey: String) async throws {
        let file = try path(storageKey)
        try await pool.run {
            guard FileManager.default.fileExists(atPath: file.path) else { return }
            try FileManager.default.removeItem(at: file)
        }
    }

    /// Checks a request's signature: the method, key, expiry and (for uploads) type and size it
    /// was made for. Returns false for anything expired, altered or unsigned.
    public func verify(method: String, key storageKey: String, expires: String, signature: String, extra: [(String, String)], now: Date = Date()) -> Bool {
        guard let seconds = Int(expires), Date(timeIntervalSince1970: TimeInterval(seconds)) > now,
              StorageKey.isValid(storageKey), let given = Data(hexString: signature)
        else { return false }
        let message = Self.message(method: method, key: storageKey, expires: seconds, extra: extra)
        return HMAC<SHA256>.isValidAuthenticationCode(given, authenticating: Data(message.utf8), using: key)
    }

    /// Writes a file whole: into a temporary name first, then renamed, so a reader never sees half.
    public func write(key storageKey: String, bytes: [UInt8], contentType: String) async throws {
        try await write(key: storageKey, bytes: bytes)
    }

    /// Generated results are served unsigned (`GeneratedFiles`); anything else gets a week-long link.
    public func permanentURL(key storageKey: String) throws -> URL {
        guard StorageKey.isValid(storageKey) else { throw BlobError.invalidKey(storageKey) }
        if storageKey.hasPrefix(GeneratedFiles.folder + "/"), let url = URL(string: "\(publicURL)/files/\(storageKey)") { return url }
        return try downloadURL(key: storageKey, expires: Date().addingTimeInterval(7 * 86_400))
    }

    public func write(key storageKey: String, bytes: [UInt8]) async throws {
        let file = try path(storageKey)
        try await pool.run { try Self.replace(file, with: bytes) }
    }

    /// Writes `bytes` to a temporary file beside `file` and renames it over `file`, so a reader
    /// sees the old file or the new one, never part of one. The folder is made the first time
    /// it is missing. Plain system calls: FileManager's checks before each step cost more than
    /// the writing itself (a generation job stores two files).
    private static func replace(_ file: URL, with bytes: [UInt8]) throws {
        let folder = file.deletingLastPathComponent()
        let temporary = folder.appendingPathComponent(".\(UUID().uuidString).part").path
        var descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        if descriptor < 0, errno == ENOENT {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        }
        guard descriptor >= 0 else { throw POSIXError.current }
        var written = 0
        let failure: POSIXError? = bytes.withUnsafeBytes { buffer in
            while written < buffer.count {
                let count = Foundation.write(descriptor, buffer.baseAddress! + written, buffer.count - written)
                if count < 0 {
                    if errno == EINTR { continue }
                    return POSIXError.current
                }
                written += count
            }
            return nil
        }
        close(descriptor)
        if let failure {
            unlink(temporary)
            throw failure
        }
        guard rename(temporary, file.path) == 0 else {
            let error = POSIXError.current
            unlink(temporary)
            throw error
        }
    }

    /// A file's bytes, or nil when there is none (or it is larger than `limit`).
    public func read(key storageKey: String, limit: Int = .max) async throws -> [UInt8]? {
        let file = try path(storageKey)
        return try await pool.run {
            let size = (try? FileManager.default.attributesOfItem(atPath: file.path)[.size] as? Int) ?? nil
            guard let size, size <= limit, let data = FileManager.default.contents(atPath: file.path) else { return nil }
            return [UInt8](data)
        }
    }

    /// Links of this store read `<public-url>/files/<folder>/<name>`.
    public func key(forURL url: URL) -> String? {
        let parts = url.path.split(separator: "/")
        guard parts.count == 3, parts[0] == "files" else { return nil }
        let key = "\(parts[1])/\(parts[2])"
        return StorageKey.isValid(key) ? key : nil
    }

    private func path(_ storageKey: String) throws -> URL {
        guard StorageKey.isValid(storageKey) else { throw BlobError.invalidKey(storageKey) }
        return directory.appendingPathComponent(storageKey)
    }

    private func signedURL(method: String, key storageKey: String, expires: Date, extra: [(String, String)]) throws -> URL {
        guard StorageKey.isValid(storageKey) else { throw BlobError.invalidKey(storageKey) }
        let seconds = Int(expires.timeIntervalSince1970)
        let message = Self.message(method: method, key: storageKey, expires: seconds, extra: extra)
        let signature = Data(HMAC<SHA256>.authenticationCode(for: Data(message.utf8), using: key)).hexString
        var components = URLComponents(string: "\(publicURL)/files/\(storageKey)")
        components?.queryItems = extra.map { URLQueryItem(name: $0.0, value: $0.1) }
            + [URLQueryItem(name: "expires", value: String(seconds)), URLQueryItem(name: "signature", value: signature)]
        // '+' in a MIME type would read as a space in a query.
        let query = components?.percentEncodedQuery?.replacingOccurrences(of: "+", with: "%2B")
        components?.percentEncodedQuery = query
        guard let url = components?.url else { throw BlobError.invalidKey(storageKey) }
        return url
    }

    private static func message(method: String, key: String, expires: Int, extra: [(String, String)]) -> String {
        ([method, key, String(expires)] + extra.map { "\($0.0)=\($0.1)" }).joined(separator: "\n")
    }
}

extension Data {
    init?(hexString: String) {
        guard hexString.count % 2 == 0, hexString.count <= 256 else { return nil }
        var bytes: [UInt8] = []
        var index = hexString.startIndex
        while index < hexString.endIndex {
            let next = hexString.index(index, offsetBy: 2)
            guard let byte = UInt8(hexString[index..<next], radix: 16) else { return nil }
            bytes.append(byte)
            index = next
        }
        self.init(bytes)
    }
}

extension POSIXError {
    /// The error `errno` names now.
    static var current: POSIXError { POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
}
