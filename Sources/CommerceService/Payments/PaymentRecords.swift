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
            VALUES (\(SecureRandom.id(prefix: "pay")), \(user), \(kind), \(description), \(amountCents), \(currency), \(status), \(reference), \(date)) ON CONFLICT (reference) DO NOTHING
            """)
    }

    static let columns: [MessageColumn<Atelier_Commerce_V1_Payment>] = [
        .text("id", \.id), .text("kind", \.kind), .text("description", \.description_p), .int("amount_cents", \.amountCents),
        .text("currency", \.currency), .text("status", \.status), .text("reference", \.reference), .time("created_at", \.createdAt),
    ]

    /// A page of the user's payments, newest first.
    static func page(_ db: any SQLExecutor, user: String, page: Page,
                     after token: PageToken?) async throws -> (items: PageResult<Atelier_Commerce_V1_Payment>, next: String) {
        try await db.newestFirst("SELECT \(columns.names()) FROM payments", countFrom: "payments", where: ["user_id = \(user)"],
                                 page: page, after: token, columns.read)
    }

    static func customer(_ db: any SQLExecutor, user: String) async throws -> String? {
        try await db.first("SELECT provider_customer_id FROM customers WHERE user_id = \(user)")?.string("provider_customer_id")
    }

    static func user(_ db: any SQLExecutor, customer: String) async throws -> String? {
        try await db.first("SELECT user_id FROM customers WHERE provider_customer_id = \(customer)")?.string("user_id")
    }

    static func saveCustomer(_ db: any SQLExecutor, user: String, provider: String, customer: String) async throws {
        try await db.query(
            "INSERT INTO customers (user_id, provider, provider_customer_id, created_at) VALUES (\(user), \(provider), \(customer), \(Date.databaseNow)) ON CONFLICT (user_id) DO NOTHING")
    }
}
