import GRPCCore
import HTTPTypes
import Hummingbird
import ServiceKit
import Synchronization

/// Token buckets for routes with a `rate_limit` option: each (route, caller) holds up to
/// `requests` tokens, refilled evenly over `per_seconds`. The caller is the signed-in user on
/// signed-in routes (a family behind one address is several users) and the client address on
/// public ones (DESIGN.md, "Limits"). In memory, per edge; idle buckets are swept as the table grows.
final class RateLimiter: Sendable {
    /// What one request learned of its bucket: the `X-RateLimit-*` headers, and whether it may go.
    struct Decision: Sendable {
        let limit: Int
        let remaining: Int
        /// Seconds until the bucket is full again.
        let reset: Int
        /// Seconds until a token is free, when none was.
        let retryAfter: Int?

        static let limitName = HTTPField.Name("X-RateLimit-Limit")!  // '!' is fine: valid literal names.
        static let remainingName = HTTPField.Name("X-RateLimit-Remaining")!
        static let resetName = HTTPField.Name("X-RateLimit-Reset")!

        func apply(to headers: inout HTTPFields) {
            headers[Self.limitName] = String(limit)
            headers[Self.remainingName] = String(remaining)
            headers[Self.resetName] = String(reset)
            if let retryAfter { headers[.retryAfter] = String(retryAfter) }
        }
    }

    private struct Bucket {
        var tokens: Double
        var updated: ContinuousClock.Instant
    }

    private let buckets = Mutex<[String: Bucket]>([:])
    private let maxBuckets: Int

    init(maxBuckets: Int = 200_000) { self.maxBuckets = maxBuckets }

    /// Takes a token for `key`, or says how many seconds until one is free (`retryAfter`).
    func take(_ key: String, requests: Int, perSeconds: Int, now: ContinuousClock.Instant = .now) -> Decision {
        let capacity = Double(requests)
        let ratePerSecond = capacity / Double(max(1, perSeconds))
        return buckets.withLock { buckets in
            if buckets.count >= maxBuckets { Self.sweep(&buckets, now: now) }
            var bucket = buckets[key] ?? Bucket(tokens: capacity, updated: now)
            let elapsed = now - bucket.updated
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            bucket.tokens = min(capacity, bucket.tokens + seconds * ratePerSecond)
            bucket.updated = now
            var retryAfter: Int?
            if bucket.tokens >= 1 {
                bucket.tokens -= 1
            } else {
                retryAfter = max(1, Int(((1 - bucket.tokens) / ratePerSecond).rounded(.up)))
            }
            buckets[key] = bucket
            return Decision(limit: requests, remaining: Int(bucket.tokens.rounded(.down)),
                            reset: Int(((capacity - bucket.tokens) / ratePerSecond).rounded(.up)), retryAfter: retryAfter)
        }
    }

    /// Runs `body` if `key`'s bucket has a token, else answers 429 with `Retry-After`; either
    /// way the answer carries the bucket's `X-RateLimit-*` headers, errors a client is shown too.
    func guarded(_ key: String, requests: Int, perSeconds: Int, _ body: () async throws -> Response) async throws -> Response {
        let decision = take(key, requests: requests, perSeconds: perSeconds)
        var response: Response
        if let wait = decision.retryAfter {
            response = Self.refusal(wait: wait).response
        } else {
            do {
                response = try await body()
            } catch let error as EdgeError {
                response = error.response
            } catch let error as RPCError where HTTPStatusMapping.status(for: error.code) < 500 {
                response = EdgeError(error).response
            }
        }
        decision.apply(to: &response.headers)
        return response
    }

    /// The 429 of a spent bucket.
    static func refusal(wait: Int, from whom: String = "") -> EdgeError {
        EdgeError(status: .tooManyRequests, code: "RATE_LIMITED", message: "too many requests\(whom); try again in \(wait) seconds", retryAfter: wait)
    }

    /// Drops buckets that would be full by now: forgetting them changes nothing.
    private static func sweep(_ buckets: inout [String: Bucket], now: ContinuousClock.Instant) {
        // Without the limits at hand, a bucket untouched for an hour is treated as refilled; the
        // longest window the API declares is an hour.
        buckets = buckets.filter { now - $0.value.updated < .seconds(3600) }
        if buckets.count >= 200_000 { buckets.removeAll(keepingCapacity: true) }
    }
}
