import Crypto
import Foundation

/// The blob store configuration names, for every process that keeps files (the edge, and
/// generation for its results).
///
/// - blobs.store (local or s3, default local)
/// - blobs.directory (string, default <data-dir>/blobs): the local store's directory
/// - blobs.s3.endpoint, blobs.s3.bucket, blobs.s3.access-key, blobs.s3.secret-key (required for s3)
/// - blobs.s3.region (string, default us-east-1; R2 takes auto)
/// - blobs.s3.path-style (bool, default true): `endpoint/bucket/key`, as MinIO wants
/// - blobs.public-base-url (string, default none): a permanent public address for files
public enum BlobStoreConfiguration {
    /// The store, and for a local one the threads it reads and writes files on. `linkKey` signs
    /// the local store's links; a process that never hands out signed links may pass any key.
    /// `blobs.public-base-url` without a trailing slash, when set.
    public static func publicBaseURL(_ configuration: Configuration) -> String? {
        configuration.string("blobs.public-base-url").map { base in
            var trimmed = base
            while trimmed.hasSuffix("/") { trimmed.removeLast() }
            return trimmed
        }
    }

    public static func make(_ configuration: Configuration, linkKey: SymmetricKey) throws -> (any BlobStore, BoundedWorkPool?) {
        let publicBase = publicBaseURL(configuration)
        switch configuration.string("blobs.store", default: "local") {
        case "local":
            let dataDirectory = configuration.string("data-dir", default: "./.atelier")
            let directory = configuration.string("blobs.directory", default: "\(dataDirectory)/blobs")
            let pool = BoundedWorkPool(threads: 2, maxQueued: 256)
            let store = LocalBlobStore(
                directory: URL(fileURLWithPath: directory, isDirectory: true),
                publicURL: configuration.string("public-url", default: "http://127.0.0.1:8080"), key: linkKey, pool: pool)
            return (store, pool)
        case "s3":
            let store = S3BlobStore(settings: .init(
                endpoint: try configuration.require("blobs.s3.endpoint"),
                region: configuration.string("blobs.s3.region", default: "us-east-1"),
                bucket: try configuration.require("blobs.s3.bucket"),
                accessKey: try configuration.require("blobs.s3.access-key"),
                secretKey: try configuration.require("blobs.s3.secret-key"),
                pathStyle: try configuration.bool("blobs.s3.path-style", default: true),
                publicBaseURL: publicBase))
            return (store, nil)
        case let other:
            throw ConfigurationError.invalid(key: "blobs.store", value: other, expected: "local or s3")
        }
    }
}
