import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import ServiceKit
import Testing

/// The S3 presigner against URLs botocore made for the same request and instant, and a round
/// trip through a local S3-compatible server (scripts/test starts moto_server and sets
/// ATELIER_TEST_S3_URL; ATELIER_TEST_REQUIRE_S3 makes its absence a failure).
@Suite("S3-compatible blob store")
struct S3BlobStoreTests {
    static let settings = S3BlobStore.Settings(
        endpoint: "https://s3.amazonaws.com", region: "us-east-1", bucket: "examplebucket",
        accessKey: "AKIAIOSFODNN7EXAMPLE", secretKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", pathStyle: false)
    /// 2026-11-22T07:42:27Z, when the reference URLs below were made with botocore 1.44.
    static let instant = Date(timeIntervalSince1970: 1_795_333_347)

    @Test("presigned GET and PUT match botocore's, virtual-hosted and path style")
    func matchesBotocore() throws {
        #expect(S3BlobStore.timestamp(Self.instant) == "20261122T074227Z")
        let virtual = S3BlobStore(settings: Self.settings)
        let get = try virtual.presign(method: "GET", key: "test.txt", expires: Self.instant.addingTimeInterval(86_400), now: Self.instant)
        #expect(get.absoluteString.hasPrefix("https://examplebucket.s3.amazonaws.com/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20261122%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20261122T074227Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature="))
        #expect(get.absoluteString.hasSuffix("X-Amz-Signature=88da9a28df3738f7cb4d1f3cde9a416ff64975a919d91611d063d59a01beae2a"))
        let put = try virtual.presign(method: "PUT", key: "avatars/ab-1.png", expires: Self.instant.addingTimeInterval(900), now: Self.instant)
        #expect(put.absoluteString.hasSuffix("X-Amz-Signature=8b5aff7c97b062670c3a790cd109a19c6198ac7a1f71f02059c49cab55346c95"))

        var pathSettings = Self.settings
        pathSettings.endpoint = "http://127.0.0.1:9000"
        pathSettings.pathStyle = true
        let path = S3BlobStore(settings: pathSettings)
        let pathGet = try path.presign(method: "GET", key: "test.txt", expires: Self.instant.addingTimeInterval(86_400), now: Self.instant)
        #expect(pathGet.absoluteString.hasPrefix("http://127.0.0.1:9000/examplebucket/test.txt?"))
        #expect(pathGet.absoluteString.hasSuffix("X-Amz-Signature=e603791e6bb1ce241e48967c152b4dca12bd0d761b6f77eaa98415ae57f26bd8"))
        let pathPut = try path.presign(method: "PUT", key: "avatars/ab-1.png", expires: Self.instant.addingTimeInterval(900), now: Self.instant)
        #expect(pathPut.absoluteString.hasSuffix("X-Amz-Signature=78fd6d660e2138aca75148e90110db99e5a561d794b5bd1a7fd264fe2420c829"))
    }

    @Test("keys that are not ours are refused")
    func keys() {
        let store = S3BlobStore(settings: Self.settings)
        for key in ["../etc/passwd", "avatars/../x.png", "UPPER/x.png", "a/b/c.png", "avatars/.hidden", ""] {
            #expect(throws: BlobError.self) { _ = try store.uploadURL(key: key, contentType: "image/png", size: 1, expires: Date()) }
        }
    }

    @Test("upload through a presigned PUT, read through a presigned GET, delete, against a local S3 server")
    func roundTrip() async throws {
        let environment = ProcessInfo.processInfo.environment
        guard let endpoint = environment["ATELIER_TEST_S3_URL"] else {
            #expect(environment["ATELIER_TEST_REQUIRE_S3"] == nil, "ATELIER_TEST_REQUIRE_S3 is set but ATELIER_TEST_S3_URL is not")
            return
        }
        let bucket = "atelier-\(SecureRandom.hex(4))"
        // moto accepts any credentials; creating the bucket is a plain PUT.
        var create = URLRequest(url: URL(string: "\(endpoint)/\(bucket)")!)
        create.httpMethod = "PUT"
        let (_, created) = try await URLSession.shared.data(for: create)
        #expect((created as? HTTPURLResponse)?.statusCode == 200)

        let store = S3BlobStore(settings: .init(endpoint: endpoint, region: "us-east-1", bucket: bucket, accessKey: "test",
                                                secretKey: "test-secret", pathStyle: true))
        let key = "avatars/\(SecureRandom.hex(8)).png"
        let bytes = Data((0..<2048).map { UInt8($0 % 251) })
        var put = URLRequest(url: try store.uploadURL(key: key, contentType: "image/png", size: bytes.count, expires: Date().addingTimeInterval(300)))
        put.httpMethod = "PUT"
        put.setValue("image/png", forHTTPHeaderField: "Content-Type")
        let (putBody, putReply) = try await URLSession.shared.upload(for: put, from: bytes)
        #expect((putReply as? HTTPURLResponse)?.statusCode == 200, "\(String(decoding: putBody, as: UTF8.self))")

        let (got, getReply) = try await URLSession.shared.data(from: try store.downloadURL(key: key, expires: Date().addingTimeInterval(300)))
        #expect((getReply as? HTTPURLResponse)?.statusCode == 200)
        #expect(got == bytes)

        try await store.delete(key: key)
        let (_, gone) = try await URLSession.shared.data(from: try store.downloadURL(key: key, expires: Date().addingTimeInterval(300)))
        #expect((gone as? HTTPURLResponse)?.statusCode == 404)
        // Deleting what is not there is fine.
        try await store.delete(key: key)
    }
}
