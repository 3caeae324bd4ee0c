import AtelierProtos
import Crypto
import Foundation
import ServiceKit
import SwiftProtobuf

/// Each movement's record under its idempotency key (`movements`): a fingerprint of the request
/// and the first reply's bytes. The same key again returns those bytes and moves nothing; the
/// same key with a different request is 409.
enum MovementRecords {
    /// The kind and a hash of the request without its key, which is not part of what it asks for.
    static func fingerprint<R: MovementRequest>(_ kind: String, _ request: R) throws -> String {
        var copy = request
        copy.idempotencyKey = ""
        let bytes: [UInt8] = try copy.serializedBytes()
        return kind + ":" + Data(SHA256.hash(data: bytes)).base64EncodedString()
    }

    static func insert(_ tx: any SQLExecutor, user: String, key: String, fingerprint: String,
                       reply: Atelier_Commerce_V1_MovementResponse, now: Date) async throws {
        try await insert(tx, [Record(user: user, key: key, fingerprint: fingerprint, reply: reply)], now: now)
    }

    /// One movement's record: whose, under which key, for which request, and its reply.
    struct Record {
        let user: String
        let key: String
        let fingerprint: String
        let reply: Atelier_Commerce_V1_MovementResponse
    }

    /// Records several movements in one statement (a batch of settles).
    static func insert(_ tx: any SQLExecutor, _ records: [Record], now: Date) async throws {
        guard !records.isEmpty else { return }
        let rows: [[SQLValue]] = try records.map { record in
            [.text(record.user), .text(record.key), .text(String(record.fingerprint.prefix { $0 != ":" })), .text(record.fingerprint),
             .blob(try record.reply.serializedBytes()), .time(now)]
        }
        try await tx.query("""
            INSERT INTO movements (user_id, idempotency_key, kind, fingerprint, response, created_at) VALUES \(SQL.rows(rows))
            """)
    }

    /// The first reply under `key`, nil when the key is new, or 409 when it was for another request.
    static func replay(_ db: any SQLExecutor, user: String, key: String, fingerprint: String) async throws -> Atelier_Commerce_V1_MovementResponse? {
        guard let previous = try await db.first("""
            SELECT fingerprint, response FROM movements WHERE user_id = \(user) AND idempotency_key = \(key)
            """)
        else { return nil }
        guard try previous.string("fingerprint") == fingerprint else {
            throw ServiceError(.alreadyExists, reason: "IDEMPOTENCY_KEY_REUSED",
                               "idempotencyKey was used before with a different request", field: "idempotencyKey")
        }
        return try Atelier_Commerce_V1_MovementResponse(serializedBytes: try previous.blob("response"))
    }
}

/// A request that moves credits: it carries the idempotency key its movement is recorded under.
protocol MovementRequest: SwiftProtobuf.Message {
    var idempotencyKey: String { get set }
}

extension Atelier_Commerce_V1_GrantRequest: MovementRequest {}
extension Atelier_Commerce_V1_HoldRequest: MovementRequest {}
extension Atelier_Commerce_V1_SettleRequest: MovementRequest {}
extension Atelier_Commerce_V1_ReleaseRequest: MovementRequest {}
