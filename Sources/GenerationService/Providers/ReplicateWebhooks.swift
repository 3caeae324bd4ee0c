import Crypto
import Foundation
import ServiceKit

/// Replicate's webhooks (the Standard Webhooks scheme, `../shared/PROVIDERS.md`): `webhook-id`,
/// `webhook-timestamp` and `webhook-signature` (space-separated `v1,<base64>`), each an
/// HMAC-SHA256 under the base64 part of the `whsec_` secret over `"{id}.{timestamp}.{body}"`.
/// A delivery is applied once: its id is recorded in the same transaction as the prediction it
/// carries, so a retried delivery changes nothing. Workers waiting on a prediction read it here.
struct ReplicateWebhooks: PredictionInbox {
    let database: any Database
    /// `whsec_...`; without it every delivery is refused.
    let secret: String?
    /// How far a delivery's timestamp may be from now: bounds the replay of a captured one.
    static let tolerance: TimeInterval = 300

    struct Outcome: Sendable {
        let predictionID: String
        let duplicate: Bool
    }

    func receive(payload: [UInt8], id: String, timestamp: String, signature: String, now: Date = Date()) async throws -> Outcome {
        guard let secret, let key = Self.key(secret) else {
            throw ServiceError(.failedPrecondition, reason: "WEBHOOK_NOT_CONFIGURED",
                               "Replicate webhooks are not configured (generation.replicate.webhook-secret)")
        }
        try Self.verify(payload: payload, id: id, timestamp: timestamp, signature: signature, key: key, now: now)
        guard let prediction = (try? JSONSerialization.jsonObject(with: Data(payload))) as? [String: Any],
              let predictionID = prediction["id"] as? String, !predictionID.isEmpty, predictionID.count <= 100,
              let status = prediction["status"] as? String else {
            throw ServiceError.invalid("payload", "the webhook body is not a prediction (id and status)")
        }
        let body = String(decoding: payload, as: UTF8.self)
        let received = Date.databaseNow
        let duplicate = try await database.transaction { tx -> Bool in
            let first = try await tx.query("""
                INSERT INTO provider_webhooks (webhook_id, provider, received_at) VALUES (\(id), 'replicate', \(received))
                ON CONFLICT (webhook_id) DO NOTHING RETURNING webhook_id
                """)
            guard !first.isEmpty else { return true }
            // Only a finished prediction is waited for; "start" and "output" deliveries are recorded as seen.
            if ReplicateProvider.finished.contains(status) {
                try await tx.query("""
                    INSERT INTO replicate_predictions (id, status, body, received_at) VALUES (\(predictionID), \(status), \(body), \(received))
                    ON CONFLICT (id) DO UPDATE SET status = excluded.status, body = excluded.body, received_at = excluded.received_at
                    """)
            }
            return false
        }
        return Outcome(predictionID: predictionID, duplicate: duplicate)
    }

    func prediction(_ id: String) async throws -> [String: Any]? {
        guard let row = try await database.first("SELECT body FROM replicate_predictions WHERE id = \(id)") else { return nil }
        return (try? JSONSerialization.jsonObject(with: Data(try row.string("body").utf8))) as? [String: Any]
    }

    /// Forgets deliveries older than a day: Replicate retries for far less, and outputs are gone after an hour.
    func sweep(now: Date) async throws {
        let cutoff = now.addingTimeInterval(-86_400)
        try await database.query("DELETE FROM provider_webhooks WHERE received_at < \(cutoff)")
        try await database.query("DELETE FROM replicate_predictions WHERE received_at < \(cutoff)")
    }

    // MARK: the signature

    static func key(_ secret: String) -> SymmetricKey? {
        let encoded = secret.hasPrefix("whsec_") ? String(secret.dropFirst(6)) : secret
        return Data(base64Encoded: encoded).map { SymmetricKey(data: $0) }
    }

    static func sign(payload: [UInt8], id: String, timestamp: String, secret: String) -> String {
        guard let key = key(secret) else { return "" }
        let mac = HMAC<SHA256>.authenticationCode(for: Array("\(id).\(timestamp).".utf8) + payload, using: key)
        return "v1,\(Data(mac).base64EncodedString())"
    }

    static func verify(payload: [UInt8], id: String, timestamp: String, signature: String, key: SymmetricKey, now: Date) throws {
        guard !id.isEmpty, id.count <= 200 else { throw refused("missing webhook-id header") }
        guard let seconds = Double(timestamp) else { throw refused("missing or malformed webhook-timestamp header") }
        guard abs(now.timeIntervalSince1970 - seconds) <= tolerance else {
            throw refused("webhook-timestamp is outside the \(Int(tolerance)) s tolerance")
        }
        let signed = Array("\(id).\(timestamp).".utf8) + payload
        // Each entry is checked in constant time; any one may match (secrets are rolled this way).
        var matched = false
        for entry in signature.split(separator: " ") {
            let parts = entry.split(separator: ",", maxSplits: 1)
            guard parts.count == 2, parts[0] == "v1", let mac = Data(base64Encoded: String(parts[1])) else { continue }
            if HMAC<SHA256>.isValidAuthenticationCode(mac, authenticating: signed, using: key) { matched = true }
        }
        guard matched else { throw refused(signature.isEmpty ? "missing webhook-signature header" : "webhook-signature does not match the body") }
    }

    private static func refused(_ message: String) -> ServiceError {
        ServiceError(.invalidArgument, reason: "WEBHOOK_SIGNATURE_INVALID", message)
    }
}
