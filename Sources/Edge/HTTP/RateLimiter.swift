import Synchronization

/// Per-client token buckets for routes with a `rate_limit` option: each (route, client address)
/// holds up to `requests` tokens, refilled evenly over `per_seconds`. In memory, per edge
/// (DESIGN.md: the edge owns rate-limit windows); idle buckets are swept as the table grows.
final class RateLimiter: Sendable {
    private struct Bucket {
        var tokens: Double
        var updated: ContinuousClock.Instant
    }

    private let buckets = Mutex<[String: Bucket]>([:])
    private let maxBuckets: Int

    init(maxBuckets: Int = 200_000) { self.maxBuckets = maxBuckets }

    /// Takes a token for `key`, or says how many seconds until one is free.
    func take(_ key: String, requests: Int, perSeconds: Int, now: ContinuousClock.Instant = .now) -> Int? {
        let capacity = Double(requests)
        let ratePerSecond = capacity / Double(max(1, perSeconds))
        return buckets.withLock { buckets in
            if buckets.count >= maxBuckets { Self.sweep(&buckets, now: now) }
            var bucket = buckets[key] ?? Bucket(tokens: capacity, updated: now)
            let elapsed = now - bucket.updated
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            bucket.tokens = min(capacity, bucket.tokens + seconds * ratePerSecond)
            bucket.updated = now
            defer { buckets[key] = bucket }
            guard bucket.tokens >= 1 else {
                return max(1, Int(((1 - bucket.tokens) / ratePerSecond).rounded(.up)))
            }
            bucket.tokens -= 1
            return nil
        }
    }

    /// Drops buckets that would be full by now: forgetting them changes nothing.
    private static func sweep(_ buckets: inout [String: Bucket], now: ContinuousClock.Instant) {
        // Without the limits at hand, a bucket untouched for an hour is treated as refilled; the
        // longest window the API declares is an hour.
        buckets = buckets.filter { now - $0.value.updated < .seconds(3600) }
        if buckets.count >= 200_000 { buckets.removeAll(keepingCapacity: true) }
    }
}
