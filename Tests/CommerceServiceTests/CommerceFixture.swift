import AtelierProtos
import AtelierTestSupport
import Crypto
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import ServiceKit
import Testing

typealias CommerceClient = Atelier_Commerce_V1_CommerceService.Client<HTTP2ClientTransport.Posix>

/// Helpers shared by the commerce tests.
enum CommerceFixture {
    static let webhookSecret = "whsec_test_0123456789abcdef"
    static let overrides = ["commerce.webhook-secret": webhookSecret]

    /// Signs a user up through the edge; returns their session token and user id.
    static func signUp(_ stack: TestStack, _ email: String) async throws -> (token: String, userID: String) {
        try await stack.signUp(email)
    }

    /// The sum of a wallet's ledger entries for one asset, and of what its unexpired grants have left:
    /// the two must always be equal, and equal to the available balance.
    static func sums(_ stack: TestStack, user: String, asset: String) async throws -> (entries: Int64, remaining: Int64) {
        let db = stack.database(.commerce)
        let entries = try await db.first(
            "SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) AS n FROM ledger_entries WHERE user_id = \(user) AND asset = \(asset)")?.int("n") ?? -1
        let remaining = try await db.first(
            "SELECT CAST(COALESCE(SUM(remaining), 0) AS BIGINT) AS n FROM grants WHERE user_id = \(user) AND asset = \(asset)")?.int("n") ?? -1
        return (entries, remaining)
    }

    static func balance(_ reply: Atelier_Commerce_V1_WalletResponse, _ asset: String) -> Int64 {
        reply.balances.first { $0.asset == asset }?.available ?? 0
    }

    /// A Stripe event as JSON bytes.
    static func event(id: String, type: String, created: Int = Int(Date().timeIntervalSince1970), object: [String: Any]) throws -> Data {
        try JSONSerialization.data(withJSONObject: [
            "id": id, "object": "event", "type": type, "created": created, "livemode": false, "data": ["object": object],
        ] as [String: Any])
    }

    /// A Stripe-Signature header for `payload`, made independently of the service's own code.
    static func signature(_ payload: Data, secret: String = webhookSecret, timestamp: Int = Int(Date().timeIntervalSince1970)) -> String {
        "t=\(timestamp),v1=\(hmac(payload, secret: secret, timestamp: timestamp))"
    }

    static func hmac(_ payload: Data, secret: String, timestamp: Int) -> String {
        var signed = Data("\(timestamp).".utf8)
        signed.append(payload)
        let mac = HMAC<SHA256>.authenticationCode(for: signed, using: SymmetricKey(data: Data(secret.utf8)))
        return mac.map { String(format: "%02x", $0) }.joined()
    }

    /// A paid token-pack checkout for `user`, as Stripe sends it.
    static func packPaid(eventID: String, user: String, pack: String = "pack_50", session: String? = nil) throws -> Data {
        try event(id: eventID, type: "checkout.session.completed", object: [
            "id": session ?? "cs_test_\(eventID)", "object": "checkout.session", "mode": "payment", "payment_status": "paid",
            "status": "complete", "client_reference_id": user, "amount_total": 499, "currency": "usd",
            "metadata": ["user_id": user, "pack_id": pack],
        ])
    }
}
