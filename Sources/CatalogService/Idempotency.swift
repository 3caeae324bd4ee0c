import ServiceKit

/// Services' creates carry an idempotency key (a job id): the first call creates, a retry gets
/// what the first call made. Two calls racing with one key meet at the unique index; the loser
/// reads the winner's row.
func idempotent<T: Sendable>(_ key: String?, existing: () async throws -> T?, create: () async throws -> T) async throws -> T {
    if key != nil, let found = try await existing() { return found }
    do {
        return try await create()
    } catch DatabaseError.uniqueViolation where key != nil {
        if let found = try await existing() { return found }
        throw ServiceError(.aborted, reason: "CONFLICT", "a call with the same idempotency key is in progress; retry")
    }
}
