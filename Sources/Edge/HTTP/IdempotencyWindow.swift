import Crypto
import HTTPTypes
import Synchronization

/// Remembers the replies to signed-in POSTs sent with an `Idempotency-Key` header, so a client
/// that retries after losing a reply gets the first reply again instead of a second character,
/// hero or checkout. In memory, per edge, for `edge.idempotency-seconds` (DESIGN.md: the edge
/// owns idempotency windows).
///
/// Keys belong to one user: the same key from two users never meets. A key names one request: the
/// same key with another route or another body is refused (409 `IDEMPOTENCY_KEY_REUSED`, as the
/// ledger says it), and so is a key whose first request is still running (409
/// `IDEMPOTENCY_KEY_IN_USE`, with Retry-After). Only successful replies are kept: a call that failed changed nothing,
/// so a retry may run it again.
final class IdempotencyWindow: Sendable {
    static let header = "Idempotency-Key"
    static let headerName = HTTPField.Name(header)!  // '!' is fine: a valid field name.
    /// Marks a reply sent again from the window.
    static let replayedName = HTTPField.Name("Idempotent-Replayed")!  // '!' is fine: a valid field name.

    struct Reply: Sendable, Equatable {
        let status: Int
        let body: [UInt8]
    }

    /// What a request holding a key does next.
    enum Claim: Sendable, Equatable {
        /// The key is new: run the request, then `finish` or `abandon` the ticket.
        case run(Ticket)
        /// The key already answered: send this again.
        case replay(Reply)
    }

    struct Ticket: Sendable, Equatable {
        fileprivate let slot: String
        fileprivate let serial: UInt64
    }

    private enum Entry {
        case running(fingerprint: SHA256Digest, serial: UInt64, since: ContinuousClock.Instant)
        case answered(fingerprint: SHA256Digest, reply: Reply, until: ContinuousClock.Instant)
    }

    private struct State {
        var entries: [String: Entry] = [:]
        /// Answered slots oldest first: every entry lives equally long, so this is expiry order too.
        var order: [(slot: String, until: ContinuousClock.Instant)] = []
        var orderStart = 0
        var bytes = 0
        var serial: UInt64 = 0
    }

    private let state = Mutex(State())
    private let lifetime: Duration
    private let maxBytes: Int
    /// A request still "running" after this long lost its ticket somewhere; its key is free again.
    private let staleAfter: Duration

    init(lifetime: Duration = .seconds(86_400), maxBytes: Int = 32 << 20, staleAfter: Duration = .seconds(60)) {
        self.lifetime = lifetime
        self.maxBytes = maxBytes
        self.staleAfter = staleAfter
    }

    /// The key a request carries, checked: nil when it sends none.
    static func key(in value: String?) throws(EdgeError) -> String? {
        guard let value else { return nil }
        guard (1...255).contains(value.utf8.count), value.utf8.allSatisfy({ (0x21...0x7E).contains($0) }) else {
            throw EdgeError(status: .badRequest, code: "VALIDATION_FAILED",
                            message: "\(header) must be 1 to 255 visible ASCII characters", field: header)
        }
        return value
    }

    /// Claims `key` for `user`'s request, whose identity (route and message) is `request`.
    func claim(key: String, user: String, request: [UInt8], now: ContinuousClock.Instant = .now) throws(EdgeError) -> Claim {
        let slot = user + "\u{0}" + key
        let fingerprint = SHA256.hash(data: request)
        return try state.withLock { state throws(EdgeError) -> Claim in
            expire(&state, now: now)
            switch state.entries[slot] {
            case .answered(let first, let reply, _):
                guard first == fingerprint else { throw Self.reused }
                return .replay(reply)
            case .running(let first, _, let since) where now - since < staleAfter:
                guard first == fingerprint else { throw Self.reused }
                throw EdgeError(status: .conflict, code: "IDEMPOTENCY_KEY_IN_USE",
                                message: "a request with this \(Self.header) is still running; retry shortly",
                                field: Self.header, retryAfter: 1)
            case .running, nil:
                state.serial &+= 1
                state.entries[slot] = .running(fingerprint: fingerprint, serial: state.serial, since: now)
                return .run(Ticket(slot: slot, serial: state.serial))
            }
        }
    }

    /// Keeps a successful reply for the key's lifetime.
    func finish(_ ticket: Ticket, with reply: Reply, now: ContinuousClock.Instant = .now) {
        state.withLock { state in
            guard case .running(let fingerprint, let serial, _) = state.entries[ticket.slot], serial == ticket.serial else { return }
            guard reply.body.count <= maxBytes / 4 else {
                // Too large to keep: the key is freed, so a retry runs again rather than being refused.
                state.entries[ticket.slot] = nil
                return
            }
            let until = now + lifetime
            state.entries[ticket.slot] = .answered(fingerprint: fingerprint, reply: reply, until: until)
            state.order.append((ticket.slot, until))
            state.bytes += reply.body.count + ticket.slot.utf8.count
            while state.bytes > maxBytes, evictOldest(&state) {}
        }
    }

    /// Frees the key after a request that failed or was cancelled, so the client may retry it.
    func abandon(_ ticket: Ticket) {
        state.withLock { state in
            guard case .running(_, let serial, _) = state.entries[ticket.slot], serial == ticket.serial else { return }
            state.entries[ticket.slot] = nil
        }
    }

    private static let reused = EdgeError(
        status: .conflict, code: "IDEMPOTENCY_KEY_REUSED",
        message: "this \(header) was already used with a different request", field: header)

    private func expire(_ state: inout State, now: ContinuousClock.Instant) {
        while state.orderStart < state.order.count, state.order[state.orderStart].until <= now, evictOldest(&state) {}
    }

    /// Forgets the oldest answered key; false when none is left.
    private func evictOldest(_ state: inout State) -> Bool {
        guard state.orderStart < state.order.count else { return false }
        let (slot, until) = state.order[state.orderStart]
        state.orderStart += 1
        // The slot may have been answered again since (after expiring and being claimed anew):
        // only the entry this position recorded goes.
        if case .answered(_, let reply, let entryUntil) = state.entries[slot], entryUntil == until {
            state.entries[slot] = nil
            state.bytes -= reply.body.count + slot.utf8.count
        }
        if state.orderStart > 1024, state.orderStart * 2 > state.order.count {
            state.order.removeFirst(state.orderStart)
            state.orderStart = 0
        }
        return true
    }
}
