import AtelierProtos
import Foundation
import ServiceKit

/// Payments as the billing history shows them, and each user's customer id at the provider.
struct PaymentRecords: Sendable {
    /// Records a payment once per provider reference (an invoice or checkout session).
    static func record(_ tx: any SQLExecutor, user: String, kind: String, description: String, amountCents: Int64,
                       currency: String, status: String, reference: String, at date: Date) async throws {
        try await tx.query(
            """
            INSERT INTO payments (id, user_id, kind, description, amount_cents, currency, status, reference, created_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (reference) DO NOTHING
            """, .text(SecureRandom.id(prefix: "pay")), .text(user), .text(kind), .text(description), .int(amountCents),
            .text(currency), .text(status), .text(reference), .time(date))
    }

    static func page(_ db: any SQLExecutor, user: String, limit: Int, offset: Int) async throws -> Atelier_Commerce_V1_ListBillingHistoryResponse {
        let total = try await db.first("SELECT COUNT(*) AS n FROM payments WHERE user_id = $1", .text(user))?.int("n") ?? 0
        let rows = try await db.query(
            """
            SELECT id, kind, description, amount_cents, currency, status, reference, created_at FROM payments
            WHERE user_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3
            """, .text(user), .int(Int64(limit)), .int(Int64(offset)))
        return try .with {
            $0.payments = try rows.map { row in
                try .with {
                    $0.id = try row.string("id")
                    $0.kind = try row.string("kind")
                    $0.description_p = try row.string("description")
                    $0.amountCents = try row.int("amount_cents")
                    $0.currency = try row.string("currency")
                    $0.status = try row.string("status")
                    $0.reference = try row.string("reference")
                    $0.createdAt = .init(date: try row.date("created_at"))
                }
            }
            $0.total = Int32(total)
            $0.limit = Int32(limit)
            $0.offset = Int32(offset)
        }
    }

    static func customer(_ db: any SQLExecutor, user: String) async throws -> String? {
        try await db.first("SELECT provider_customer_id FROM customers WHERE user_id = $1", .text(user))?.string("provider_customer_id")
    }

    static func user(_ db: any SQLExecutor, customer: String) async throws -> String? {
        try await db.first("SELECT user_id FROM customers WHERE provider_customer_id = $1", .text(customer))?.string("user_id")
    }

    static func saveCustomer(_ db: any SQLExecutor, user: String, provider: String, customer: String) async throws {
        try await db.query(
            "INSERT INTO customers (user_id, provider, provider_customer_id, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (user_id) DO NOTHING",
            .text(user), .text(provider), .text(customer), .time(Date.databaseNow))
    }
}
