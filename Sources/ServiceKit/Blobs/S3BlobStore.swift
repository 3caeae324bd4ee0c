import Crypto
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// An S3-compatible bucket (AWS S3, Cloudflare R2, MinIO): clients upload and download through
/// presigned URLs (AWS Signature Version 4, query-string form), so file bytes never pass
/// through a service.
public struct S3BlobStore: BlobStore {
    public struct Settings: Sendable {
        /// `https://s3.us-east-1.amazonaws.com`, `https://<account>.r2.cloudflarestorage.com`, `http://minio:9000`.
        public var endpoint: String
        public var region: String
        public var bucket: String
        public var accessKey: String
        public var secretKey: String
        /// `endpoint/bucket/key` (MinIO, most self-hosted stores) rather than `bucket.endpoint/key`.
        public var pathStyle: Bool
        /// A permanent public address for the bucket's files (a CDN or public bucket domain).
        public var publicBaseURL: String?

        public init(endpoint: String, region: String, bucket: String, accessKey: String, secretKey: String, pathStyle: Bool,
                    publicBaseURL: String? = nil) {
            self.publicBaseURL = publicBaseURL
            self.endpoint = endpoint
            self.region = region
            self.bucket = bucket
            self.accessKey = accessKey
            self.secretKey = secretKey
            self.pathStyle = pathStyle
        }
    }

    public let settings: Settings
    private let session: URLSession

    public init(settings: Settings, session: URLSession = .shared) {
        self.settings = settings
        self.session = session
    }

    public func uploadURL(key: String, contentType: String, size: Int, expires: Date) throws -> URL {
        guard StorageKey.isValid(key) else { throw BlobError.invalidKey(key) }
        return try presign(method: "PUT", key: key, expires: expires)
    }

    public func downloadURL(key: String, expires: Date) throws -> URL {
        guard StorageKey.isValid(key) else { throw BlobError.invalidKey(key) }
        return try presign(method: "GET", key: key, expires: expires)
    }

    public func delete(key: String) async throws {
        guard StorageKey.isValid(key) else { throw BlobError.invalidKey(key) }
        var request = URLRequest(url: try presign(method: "DELETE", key: key, expires: Date().addingTimeInterval(60)))
        request.httpMethod = "DELETE"
        let (data, response) = try await session.data(for: request)
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        // S3 answers 204 for a delete, also of a key that is not there.
        guard (200..<300).contains(status) || status == 404 else {
            throw BlobError.provider(status: status, message: String(decoding: data.prefix(500), as: UTF8.self))
        }
    }

    public func write(key: String, bytes: [UInt8], contentType: String) async throws {
        guard StorageKey.isValid(key) else { throw BlobError.invalidKey(key) }
        var request = URLRequest(url: try presign(method: "PUT", key: key, expires: Date().addingTimeInterval(300)))
        request.httpMethod = "PUT"
        request.setValue(contentType, forHTTPHeaderField: "Content-Type")
        let (data, response) = try await session.upload(for: request, from: Data(bytes))
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        guard (200..<300).contains(status) else { throw BlobError.provider(status: status, message: String(decoding: data.prefix(500), as: UTF8.self)) }
    }

    /// The public base (`blobs.public-base-url`) when set, else a presigned link for the seven
    /// days SigV4 allows.
    public func permanentURL(key: String) throws -> URL {
        guard StorageKey.isValid(key) else { throw BlobError.invalidKey(key) }
        if let base = settings.publicBaseURL, let url = URL(string: "\(base)/\(key)") { return url }
        return try presign(method: "GET", key: key, expires: Date().addingTimeInterval(7 * 86_400 - 60))
    }

    public func read(key: String, limit: Int) async throws -> [UInt8]? {
        let (data, response) = try await session.data(from: try downloadURL(key: key, expires: Date().addingTimeInterval(300)))
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        if status == 404 { return nil }
        guard (200..<300).contains(status) else { throw BlobError.provider(status: status, message: String(decoding: data.prefix(500), as: UTF8.self)) }
        return data.count <= limit ? [UInt8](data) : nil
    }

    /// Links into this bucket: `endpoint/bucket/key` or `bucket.endpoint/key`.
    public func key(forURL url: URL) -> String? {
        guard let endpointHost = URLComponents(string: settings.endpoint)?.host, let host = url.host else { return nil }
        var parts = url.path.split(separator: "/").map(String.init)
        if host == endpointHost, parts.first == settings.bucket {
            parts.removeFirst()
        } else if host != "\(settings.bucket).\(endpointHost)" {
            return nil
        }
        let key = parts.joined(separator: "/")
        return StorageKey.isValid(key) ? key : nil
    }

    /// A presigned URL for one method on one key, valid from `now` until `expires` (at most the
    /// seven days SigV4 allows).
    public func presign(method: String, key: String, expires: Date, now: Date = Date()) throws -> URL {
        guard !key.isEmpty, !key.split(separator: "/").contains("..") else { throw BlobError.invalidKey(key) }
        guard let endpoint = URLComponents(string: settings.endpoint), let scheme = endpoint.scheme, let endpointHost = endpoint.host else {
            throw BlobError.invalidKey(settings.endpoint)
        }
        let host = settings.pathStyle ? endpointHost : "\(settings.bucket).\(endpointHost)"
        let hostHeader = endpoint.port.map { "\(host):\($0)" } ?? host
        let objectPath = key.split(separator: "/", omittingEmptySubsequences: false).map { Self.encode(String($0)) }.joined(separator: "/")
        let path = (settings.pathStyle ? "/\(Self.encode(settings.bucket))/" : "/") + objectPath

        let amzDate = Self.timestamp(now)
        let day = String(amzDate.prefix(8))
        let scope = "\(day)/\(settings.region)/s3/aws4_request"
        let lifetime = max(1, min(604_800, Int(expires.timeIntervalSince(now).rounded(.down))))
        let query = [
            ("X-Amz-Algorithm", "AWS4-HMAC-SHA256"),
            ("X-Amz-Credential", "\(settings.accessKey)/\(scope)"),
            ("X-Amz-Date", amzDate),
            ("X-Amz-Expires", String(lifetime)),
            ("X-Amz-SignedHeaders", "host"),
        ].map { (Self.encode($0.0), Self.encode($0.1)) }.sorted { $0.0 < $1.0 }
        let canonicalQuery = query.map { "\($0.0)=\($0.1)" }.joined(separator: "&")
        let canonicalRequest = [method, path, canonicalQuery, "host:\(hostHeader)\n", "host", "UNSIGNED-PAYLOAD"].joined(separator: "\n")
        let stringToSign = ["AWS4-HMAC-SHA256", amzDate, scope, SHA256.hash(data: Data(canonicalRequest.utf8)).hexString].joined(separator: "\n")

        var signingKey = SymmetricKey(data: Data("AWS4\(settings.secretKey)".utf8))
        for part in [day, settings.region, "s3", "aws4_request"] {
            signingKey = SymmetricKey(data: Data(HMAC<SHA256>.authenticationCode(for: Data(part.utf8), using: signingKey)))
        }
        let signature = Data(HMAC<SHA256>.authenticationCode(for: Data(stringToSign.utf8), using: signingKey)).hexString
        let portPart = endpoint.port.map { ":\($0)" } ?? ""
        guard let url = URL(string: "\(scheme)://\(host)\(portPart)\(path)?\(canonicalQuery)&X-Amz-Signature=\(signature)") else {
            throw BlobError.invalidKey(key)
        }
        return url
    }

    /// SigV4's URI encoding: everything but unreserved characters, `/` included.
    static func encode(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            let character = Character(UnicodeScalar(byte))
            if character.isASCII && (character.isLetter || character.isNumber || "-_.~".contains(character)) {
                out.append(character)
            } else {
                out += String(format: "%%%02X", byte)
            }
        }
        return out
    }

    public static func timestamp(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        return formatter.string(from: date)
    }
}
