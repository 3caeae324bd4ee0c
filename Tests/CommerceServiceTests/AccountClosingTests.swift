import AtelierProtos
import AtelierTestSupport
import Foundation
import GRPCCore
import ServiceKit
import Testing

/// What deleting an account does to commerce: billing stops, the wallet goes, payments stay for
/// accounting without the person, and nothing opens a wallet for the account again.
@Suite("Closing a deleted account's commerce records")
struct AccountClosingTests {
    @Test("deleting the account ends the subscription with its period, deletes the wallet, keeps payments without the user",
          arguments: TestBackend.available)
    func deleteAccount(backend: TestBackend) async throws {
        try await TestStack.with(backend, edge: true, overrides: CommerceFixture.overrides) { stack in
            let (token, user) = try await CommerceFixture.signUp(stack, "closing@example.com")
            let (neighbourToken, neighbour) = try await CommerceFixture.signUp(stack, "neighbour@example.com")
            let checkout = try await stack.http("POST", "/api/payments/create-subscription", json: ["planId": "starter"], token: token)
            try await PaymentFlowTests.click(stack, checkout, "pay")
            let pack = try await stack.http("POST", "/api/payments/purchase-tokens", json: ["packId": "pack_50"], token: neighbourToken)
            try await PaymentFlowTests.click(stack, pack, "pay")
            let db = stack.database(.commerce)
            #expect(try await db.count("SELECT COUNT(*) AS n FROM payments WHERE user_id = \(user)") == 1)

            let deleted = try await stack.http("DELETE", "/api/user/account", json: ["password": "Quiet-River-42"], token: token)
            #expect(deleted.status == 200, "\(deleted.text)")

            for table: SQLIdentifier in ["wallets", "grants", "holds", "ledger_entries", "movements", "subscriptions", "customers", "payments"] {
                #expect(try await db.count("SELECT COUNT(*) AS n FROM \(table) WHERE user_id = \(user)") == 0, "\(table)")
            }
            #expect(try await db.count("SELECT COUNT(*) AS n FROM payments WHERE user_id = ''") == 1, "kept, without the user")
            #expect(try await db.count("SELECT COUNT(*) AS n FROM closed_accounts WHERE user_id = \(user)") == 1)
            // The sandbox stands in for Stripe: the subscription there runs to its period end and stops.
            #expect(try await db.count(
                "SELECT COUNT(*) AS n FROM sandbox_subscriptions WHERE user_id = \(user) AND cancel_at_period_end = TRUE") == 1)
            // The neighbour's records are untouched.
            #expect(try await db.count("SELECT COUNT(*) AS n FROM payments WHERE user_id = \(neighbour)") == 1)
            #expect(try await stack.http("GET", "/api/wallet", token: neighbourToken).json["credits"] as? Int == 53)

            // Nothing opens the wallet again: not a service's grant, not the provider's late webhook.
            try await stack.withClient(.commerce) { client in
                let commerce = CommerceClient(wrapping: client)
                let service = try stack.serviceMetadata()
                let grant = await failure {
                    try await commerce.grant(.with {
                        $0.userID = user; $0.asset = "credits"; $0.amount = 5; $0.source = "refund"; $0.idempotencyKey = "late"
                    }, metadata: service)
                }
                #expect(grant?.code == .failedPrecondition && grant?.reason == "ACCOUNT_CLOSED", "\(String(describing: grant))")
                let again = try await commerce.purgeUser(.with { $0.userID = user }, metadata: service)
                #expect(again.deleted == 0 && again.anonymizedPayments == 0 && !again.subscriptionCanceled, "repeating it is harmless")
                let asUser = await failure {
                    try await commerce.purgeUser(.with { $0.userID = neighbour },
                                                 metadata: try stack.userMetadata(id: neighbour, sessionID: "s"))
                }
                #expect(asUser?.code == .permissionDenied, "only services purge")
            }
            let late = try CommerceFixture.packPaid(eventID: "evt_after_close", user: user)
            let delivered = try await stack.http("POST", "/api/payments/webhook", rawBody: late,
                                                 headers: ["Stripe-Signature": CommerceFixture.signature(late), "Content-Type": "application/json"])
            #expect(delivered.status == 200, "\(delivered.text)")
            let outcome = try await db.first("SELECT outcome FROM webhook_inbox WHERE event_id = 'evt_after_close'")?.string("outcome")
            #expect(outcome == "ignored: account closed")
            #expect(try await db.count("SELECT COUNT(*) AS n FROM wallets WHERE user_id = \(user)") == 0)
        }
    }
}
