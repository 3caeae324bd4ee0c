import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// JSON over HTTPS to an outside provider, with the failures every provider shares turned into
/// `ProviderError`s that say whether to try again: a timeout or a refused connection, a 429
/// (with the provider's hint of when to come back), a 5xx, a refused key, a request the provider
/// rejects, and a reply that is not the JSON it documents.
struct ProviderHTTP: Sendable {
    let provider: String
    let session: URLSession
    /// What a provider's own error body says: its message, a retry hint some put there, and
    /// whether trying again can help when the provider says so itself (OpenAI's 429
    /// `insufficient_quota` is not worth a retry; its `rate_limit_exceeded` is).
    struct ErrorBody: Sendable {
        var message: String?
        var retryAfter: Duration?
        var retryable: Bool?
    }

    let readError: @Sendable (_ status: Int, _ body: [String: Any]) -> ErrorBody

    init(provider: String, timeout: Duration, readError: @escaping @Sendable (_ status: Int, _ body: [String: Any]) -> ErrorBody) {
        self.provider = provider
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = timeout.seconds
        configuration.timeoutIntervalForResource = timeout.seconds
        session = URLSession(configuration: configuration)
        self.readError = readError
    }

    struct Reply: Sendable {
        let status: Int
        let body: Data
        let contentType: String?
    }

    /// A JSON object from `method url`, or a `ProviderError`.
    func json(_ method: String, _ url: URL, headers: [String: String], body: [String: Any]? = nil) async throws -> [String: Any] {
        let reply = try await send(method, url, headers: headers, body: try body.map { try JSONSerialization.data(withJSONObject: $0) })
        guard let object = (try? JSONSerialization.jsonObject(with: reply.body)) as? [String: Any] else {
            throw malformed("the reply to \(method) \(url.path) is not a JSON object")
        }
        return object
    }

    /// A file the provider made, copied at once (providers delete theirs within the hour).
    func download(_ url: URL, limit: Int = 64 << 20) async throws -> (bytes: [UInt8], contentType: String?) {
        let reply = try await send("GET", url, headers: [:], body: nil)
        guard reply.body.count <= limit else { throw malformed("a result of \(reply.body.count) bytes is larger than \(limit)") }
        guard !reply.body.isEmpty else { throw malformed("a result file is empty") }
        return (Array(reply.body), reply.contentType)
    }

    func send(_ method: String, _ url: URL, headers: [String: String], body: Data?) async throws -> Reply {
        var request = URLRequest(url: url)
        request.httpMethod = method
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        if let body {
            request.httpBody = body
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        let data: Data
        let response: URLResponse
        do {
            (data, response) = try await session.data(for: request)
        } catch let error as URLError where error.code == .timedOut {
            throw ProviderError(code: "PROVIDER_TIMEOUT", message: "\(provider) did not answer \(method) \(url.path) in time", retryable: true)
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            throw ProviderError(code: "PROVIDER_UNREACHABLE", message: "could not reach \(provider): \(error.localizedDescription)", retryable: true)
        }
        let http = response as? HTTPURLResponse
        let status = http?.statusCode ?? 0
        if (200..<300).contains(status) {
            return Reply(status: status, body: data, contentType: http?.value(forHTTPHeaderField: "Content-Type"))
        }
        let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:]
        let said = readError(status, object)
        let hint = said.retryAfter
        let message = said.message.map { ": \($0)" } ?? ""
        switch status {
        case 429 where said.retryable == false:
            throw ProviderError(code: "PROVIDER_QUOTA_EXHAUSTED", message: "\(provider) says our quota is spent\(message)", retryable: false)
        case 429:
            // retry-after-ms (OpenAI) is finer than Retry-After (seconds).
            let milliseconds = http?.value(forHTTPHeaderField: "retry-after-ms").flatMap(Double.init).map { Duration.milliseconds(Int64($0)) }
            let seconds = http?.value(forHTTPHeaderField: "Retry-After").flatMap(Double.init).map { Duration.milliseconds(Int64($0 * 1000)) }
            throw ProviderError(code: "PROVIDER_RATE_LIMITED", message: "\(provider) is limiting our requests\(message)", retryable: true,
                                retryAfter: milliseconds ?? seconds ?? hint)
        case 500...599:
            throw ProviderError(code: "PROVIDER_UNAVAILABLE", message: "\(provider) failed (\(status))\(message)", retryable: true, retryAfter: hint)
        case 401, 403:
            throw ProviderError(code: "PROVIDER_NOT_AUTHORIZED", message: "\(provider) refused our key (\(status))\(message)", retryable: false)
        default:
            throw ProviderError(code: "PROVIDER_REJECTED", message: "\(provider) rejected the request (\(status))\(message)", retryable: false)
        }
    }

    func malformed(_ why: String) -> ProviderError {
        ProviderError(code: "PROVIDER_MALFORMED_REPLY", message: "\(provider) sent a reply we cannot read: \(why)", retryable: true)
    }
}

extension Duration {
    /// "30s", "1.5s" (Google's duration strings), or nil.
    init?(googleDuration text: String) {
        guard text.hasSuffix("s"), let seconds = Double(text.dropLast()), seconds >= 0 else { return nil }
        self = .milliseconds(Int64(seconds * 1000))
    }
}
