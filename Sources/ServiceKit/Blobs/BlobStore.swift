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
    /// Stores a file whole (a service's own result: generated images and videos).
    func write(key: String, bytes: [UInt8], contentType: String) async throws
    /// A link that keeps working, for files a service keeps for a user: the store's public base
    /// when it has one, else the longest-lived download link the store can give.
    func permanentURL(key: String) throws -> URL
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

/// The folder of generated results. Their keys carry a random 128-bit id, and the local store
/// serves them without a signature, as a bucket with public, unguessable keys would: a gallery
/// link must outlive any signature. Originals kept back from Free users live elsewhere.
public enum GeneratedFiles {
    public static let folder = "generated"
    public static let originals = "originals"
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
