import Foundation
import ServiceKit

/// Where the edge keeps files and how long its links last.
///
/// - public-url (string, default http://127.0.0.1:8080): the address clients reach this edge at
/// - blobs.store (local or s3, default local)
/// - blobs.directory (string, default <data-dir>/blobs): the local store's directory
/// - blobs.s3.endpoint, blobs.s3.bucket, blobs.s3.access-key, blobs.s3.secret-key (required for s3)
/// - blobs.s3.region (string, default us-east-1; R2 takes auto)
/// - blobs.s3.path-style (bool, default true): `endpoint/bucket/key`, as MinIO wants
/// - blobs.public-base-url (string, default none): a permanent public address for files (a CDN or
///   public bucket); without one, `publicUrl` is a signed download link
/// - blobs.upload-seconds (int, default 900), blobs.download-seconds (int, default 3600): link lifetimes
struct BlobSettings {
    let store: any BlobStore
    /// The threads the local store reads and writes files on, when it is local.
    let pool: BoundedWorkPool?
    let uploadLifetime: TimeInterval
    let downloadLifetime: TimeInterval
    let publicBaseURL: String?

    init(_ configuration: Configuration, signer: PrincipalSigner) throws {
        uploadLifetime = TimeInterval(try configuration.int("blobs.upload-seconds", default: 900, range: 1...86_400))
        downloadLifetime = TimeInterval(try configuration.int("blobs.download-seconds", default: 3600, range: 60...604_800))
        publicBaseURL = BlobStoreConfiguration.publicBaseURL(configuration)
        (store, pool) = try BlobStoreConfiguration.make(configuration, linkKey: signer.derivedKey(purpose: "file links"))
    }
}
