import AtelierProtos
import Foundation
import ServiceKit

/// A payment provider that needs no network: the default. Its checkout URL is a page on the edge
/// where a person clicks Pay or Cancel; paying makes the events Stripe would send
/// (customer.subscription.created, checkout.session.completed, invoice.paid), signs them with the
/// webhook secret and delivers them through the same verification and handling as Stripe's.
/// Its own tables stand in for Stripe's records of sessions and subscriptions.
struct SandboxProvider: PaymentProvider {
    typealias Delivery = @Sendable (_ payload: [UInt8], _ signature: String) async throws -> Void

    let name = "sandbox"
    let database: any Database
    let publicURL: String
    let secret: String
    let deliver: Delivery

    func createCustomer(userID: String, idempotencyKey: String) async throws -> String {
        "cus_sandbox_" + SecureRandom.hex(12)
    }

    func createCheckout(_ checkout: CheckoutRequest, idempotencyKey: String) async throws -> CheckoutSession {
        let id = "cs_sandbox_" + SecureRandom.hex(24)
        try await database.query(
            """
            INSERT INTO sandbox_checkouts (id, user_id, customer_id, mode, item_id, description, amount_cents, currency, status,
                                           success_url, cancel_url, created_at)
            VALUES (\(id), \(checkout.userID), \(checkout.customerID), \(checkout.mode.rawValue), \(checkout.itemID), \(checkout.name), \(checkout.amountCents), \(checkout.currency), 'open', \(checkout.successURL), \(checkout.cancelURL), \(Date.databaseNow))
            """)
        return CheckoutSession(id: id, url: "\(publicURL)/sandbox/checkout/\(id)")
    }

    func cancelAtPeriodEnd(subscriptionID: String, idempotencyKey: String) async throws -> ProviderSubscription {
        let rows = try await database.query(
            "UPDATE sandbox_subscriptions SET cancel_at_period_end = TRUE WHERE id = \(subscriptionID) RETURNING id")
        guard !rows.isEmpty, let subscription = try await subscriptionObject(subscriptionID) else {
            throw PaymentProviderError(status: 404, message: "no such subscription: \(subscriptionID)")
        }
        try await send("customer.subscription.updated", subscription)
        let object = StripeObject(subscription)
        return ProviderSubscription(id: subscriptionID, status: object.string("status") ?? "active", cancelAtPeriodEnd: true,
                                    currentPeriodEnd: object.periodEnd)
    }

    func checkout(_ id: String) async throws -> Atelier_Commerce_V1_SandboxCheckout {
        guard let row = try await database.first(
            "SELECT id, user_id, mode, description, amount_cents, currency, status, success_url, cancel_url FROM sandbox_checkouts WHERE id = \(id)")
        else { throw ServiceError.notFound("checkout session") }
        let status = try row.string("status")
        return try .with {
            $0.sessionID = try row.string("id")
            $0.mode = try row.string("mode")
            $0.description_p = try row.string("description")
            $0.amountCents = try row.int("amount_cents")
            $0.currency = try row.string("currency")
            $0.status = status
            $0.returnURL = try row.string(status == "canceled" ? "cancel_url" : "success_url")
            $0.userID = try row.string("user_id")
        }
    }

    /// The person's choice on the checkout page. Only the first choice counts; a second click
    /// (or a retried request) shows the outcome without paying twice.
    func complete(_ id: String, pay: Bool) async throws -> Atelier_Commerce_V1_SandboxCheckout {
        let claimed = try await database.query(
            """
            UPDATE sandbox_checkouts SET status = \(pay ? "complete" : "canceled") WHERE id = \(id) AND status = 'open'
            RETURNING user_id, customer_id, mode, item_id, amount_cents, currency
            """)
        if let row = claimed.first, pay {
            try await paid(session: id, row)
        }
        return try await checkout(id)
    }

    private func paid(session id: String, _ row: SQLRow) async throws {
        let user = try row.string("user_id")
        let customer = try row.string("customer_id")
        let itemID = try row.string("item_id")
        let amount = try row.int("amount_cents")
        let currency = try row.string("currency")
        var session: [String: Any] = [
            "id": id, "object": "checkout.session", "mode": try row.string("mode"), "status": "complete",
            "payment_status": "paid", "customer": customer, "client_reference_id": user,
            "amount_total": amount, "currency": currency,
        ]
        guard try row.string("mode") == "subscription" else {
            session["metadata"] = ["user_id": user, "pack_id": itemID]
            try await send("checkout.session.completed", session)
            return
        }
        let metadata = ["user_id": user, "plan_id": itemID]
        session["metadata"] = metadata
        let subscriptionID = "sub_sandbox_" + SecureRandom.hex(12)
        let start = Date()
        let end = Calendar(identifier: .gregorian).date(byAdding: .month, value: 1, to: start) ?? start.addingTimeInterval(30 * 86_400)
        try await database.query(
            """
            INSERT INTO sandbox_subscriptions (id, customer_id, user_id, plan_id, amount_cents, currency, status,
                                               current_period_start, current_period_end, cancel_at_period_end)
            VALUES (\(subscriptionID), \(customer), \(user), \(itemID), \(amount), \(currency), 'active', \(start), \(end), FALSE)
            """)
        session["subscription"] = subscriptionID
        if let subscription = try await subscriptionObject(subscriptionID) {
            try await send("customer.subscription.created", subscription)
        }
        try await send("checkout.session.completed", session)
        let invoice: [String: Any] = [
            "id": "in_sandbox_" + SecureRandom.hex(12), "object": "invoice", "customer": customer, "status": "paid",
            "amount_paid": amount, "currency": currency, "billing_reason": "subscription_create",
            "parent": ["type": "subscription_details", "subscription_details": ["subscription": subscriptionID, "metadata": metadata]],
            "lines": ["object": "list", "data": [["period": ["start": Int(start.timeIntervalSince1970), "end": Int(end.timeIntervalSince1970)]]]],
        ]
        try await send("invoice.paid", invoice)
    }

    /// A subscription as Stripe shows it (periods on the item, as since API version 2025-03-31).
    private func subscriptionObject(_ id: String) async throws -> [String: Any]? {
        guard let row = try await database.first(
            """
            SELECT id, customer_id, user_id, plan_id, status, current_period_start, current_period_end, cancel_at_period_end
            FROM sandbox_subscriptions WHERE id = \(id)
            """)
        else { return nil }
        let start = Int(try row.date("current_period_start").timeIntervalSince1970)
        let end = Int(try row.date("current_period_end").timeIntervalSince1970)
        return [
            "id": try row.string("id"), "object": "subscription", "customer": try row.string("customer_id"),
            "status": try row.string("status"), "cancel_at_period_end": try row.bool("cancel_at_period_end"),
            "metadata": ["user_id": try row.string("user_id"), "plan_id": try row.string("plan_id")],
            "items": ["object": "list", "data": [["current_period_start": start, "current_period_end": end]]],
        ]
    }

    private func send(_ type: String, _ object: [String: Any]) async throws {
        let event: [String: Any] = [
            "id": "evt_sandbox_" + SecureRandom.hex(12), "object": "event", "type": type, "api_version": "2025-03-31.basil",
            "created": Int(Date().timeIntervalSince1970), "livemode": false, "data": ["object": object],
        ]
        let payload = Array(try JSONSerialization.data(withJSONObject: event))
        try await deliver(payload, WebhookSignature.header(payload: payload, secret: secret, timestamp: Int(Date().timeIntervalSince1970)))
    }
}
