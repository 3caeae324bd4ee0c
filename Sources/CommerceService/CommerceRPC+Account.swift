import AtelierProtos
import Foundation
import GRPCCore
import ServiceKit

/// Closing a deleted account's commerce records (account deletion, through the edge).
extension CommerceRPC {
    /// The tables whose rows belong to one user and go with the account, children first.
    static let userTables: [SQLIdentifier] = ["ledger_entries", "movements", "holds", "grants", "subscriptions", "customers", "wallets"]

    public func purgeUser(request: Atelier_Commerce_V1_PurgeUserRequest, context: ServerContext) async throws -> Atelier_Commerce_V1_PurgeUserResponse {
        _ = try Caller.service()
        let user = try subject(request.userID)
        // Billing stops first: a provider that cannot be reached fails the call with nothing
        // deleted, so the caller can run it again.
        let billing = try await subscriptions.find(database, user: user)
        let canceled = billing.map { $0.entitles(at: Date.databaseNow) && !$0.cancelAtPeriodEnd } ?? false
        if canceled, let billing {
            _ = try await providerCall {
                try await provider.cancelAtPeriodEnd(subscriptionID: billing.providerSubscriptionID,
                                                     idempotencyKey: "cancel-\(billing.providerSubscriptionID)")
            }
        }
        let now = Date.databaseNow
        let reply = try await database.transaction { tx in
            // The tombstone first: a movement that finds the wallet gone looks here before it
            // would open a new one (`WalletUpkeep.open`), and so do webhooks.
            try await tx.query("INSERT INTO closed_accounts (user_id, closed_at) VALUES (\(user), \(now)) ON CONFLICT (user_id) DO NOTHING")
            // Take the wallet's lock, so that no movement of this user is halfway through.
            try await tx.query("UPDATE wallets SET version = version + 1 WHERE user_id = \(user)")
            var deleted: Int64 = 0
            for table in Self.userTables {
                deleted += Int64(try await tx.query("DELETE FROM \(table) WHERE user_id = \(user) RETURNING user_id").count)
            }
            // Payments are accounting records: they stay, found by the provider's reference, but
            // no longer name the person.
            let anonymized = try await tx.query("UPDATE payments SET user_id = '' WHERE user_id = \(user) RETURNING id").count
            return Atelier_Commerce_V1_PurgeUserResponse.with {
                $0.deleted = deleted
                $0.anonymizedPayments = Int64(anonymized)
                $0.subscriptionCanceled = canceled
            }
        }
        logger.info("closed a deleted account's commerce records", metadata: [
            "user": "\(user)", "deleted": "\(reply.deleted)", "payments": "\(reply.anonymizedPayments)", "canceled": "\(canceled)"])
        return reply
    }
}
