import Foundation

/// Where files live: uploads, generated images, audio. Clients never stream files through a
/// service; they get short-lived URLs that go straight to the store (S3, R2, MinIO) or, for the
/// local store, to the edge's signed file routes.
public protocol BlobStore: Sendable {
    /// A URL a client may PUT the file's bytes to until `expires`.
    func uploadURL(key: String, contentType: String, size: Int, expires: Date) throws -> URL
    /// A URL a client may GET the file from until `expires`.
    func downloadURL(key: String, expires: Date) throws -> URL
    /// Removes a file; removing one that is not there is not an error.
    func delete(key: String) async throws
    /// A file's bytes (at most `limit`), or nil when there is none.
    func read(key: String, limit: Int) async throws -> [UInt8]?
    /// The storage key a link of this store names, or nil for links elsewhere.
    func key(forURL url: URL) -> String?
}

public enum BlobError: Error, Equatable, CustomStringConvertible {
    case invalidKey(String)
    case provider(status: Int, message: String)

    public var description: String {
        switch self {
        case .invalidKey(let key): "not a storage key: \(key)"
        case .provider(let status, let message): "blob store answered \(status): \(message)"
        }
    }
}

/// Storage keys are ours: `folder/name.ext`, lower-case letters, digits, `-`, `_` and one dot.
public enum StorageKey {
    public static func isValid(_ key: String) -> Bool {
        let parts = key.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, key.count <= 200 else { return false }
        return parts.allSatisfy { part in
            !part.isEmpty && !part.hasPrefix(".") && part.allSatisfy { $0.isASCII && ($0.isLowercase || $0.isNumber || "-_.".contains($0)) }
        }
    }
}
