import AtelierProtos
import Foundation
import Logging
import ServiceKit

/// Handles payment events in Stripe's format, from Stripe or from the local sandbox. An event is
/// checked against its signature, then recorded in the inbox and applied in one transaction: the
/// inbox's primary key on the event id makes a redelivery (or a concurrent duplicate delivery)
/// find the row and change nothing.
struct WebhookProcessor: Sendable {
    let database: any Database, prices: PriceList, upkeep: WalletUpkeep, subscriptions: SubscriptionStore
    /// The signing secret and how old a signed event may be.
    let secret: String, tolerance: TimeInterval
    let logger: Logger

    func handle(payload: [UInt8], signature: String) async throws -> Atelier_Commerce_V1_HandleWebhookResponse {
        try WebhookSignature.verify(payload: payload, header: signature, secret: secret, tolerance: tolerance, now: Date())
        guard let event = StripeObject(data: payload), let id = event.string("id"), let type = event.string("type"),
              let object = event.object("data.object")
        else { throw ServiceError.invalid("payload", "payload is not a Stripe event (id, type, data.object)") }
        let eventAt = event.date("created") ?? Date()
        return try await database.transaction { tx in
            let now = Date.databaseNow
            let inserted = try await tx.query(
                """
                INSERT INTO webhook_inbox (event_id, type, event_created, outcome, received_at) VALUES (\(id), \(type), \(eventAt), 'received', \(now))
                ON CONFLICT (event_id) DO NOTHING RETURNING event_id
                """)
            guard !inserted.isEmpty else {
                return .with { $0.received = true; $0.eventID = id; $0.duplicate = true }
            }
            let user = try await user(tx, of: object, subscriptionID: Self.subscriptionID(type: type, object))
            let outcome = if let user {
                // A deleted account's events (its subscription ending, say) change nothing.
                try await WalletUpkeep.isClosed(tx, user: user)
                    ? "ignored: account closed" : try await apply(tx, type: type, object: object, user: user, eventAt: eventAt, now: now)
            } else {
                "ignored: unknown user"
            }
            try await tx.query("UPDATE webhook_inbox SET outcome = \(outcome) WHERE event_id = \(id)")
            logger.info("webhook event", metadata: ["event": "\(id)", "type": "\(type)", "outcome": "\(outcome)"])
            return .with {
                $0.received = true
                $0.eventID = id
                $0.userID = user ?? ""
            }
        }
    }

    /// Applies one event; returns what happened, for the inbox and the log.
    private func apply(_ tx: any SQLExecutor, type: String, object: StripeObject, user: String, eventAt: Date, now: Date) async throws -> String {
        switch type {
        case "checkout.session.completed":
            return try await checkoutCompleted(tx, object, user: user, eventAt: eventAt, now: now)
        case "invoice.paid":
            return try await invoicePaid(tx, object, user: user, eventAt: eventAt, now: now)
        case "invoice.payment_failed":
            return try await invoiceFailed(tx, object, user: user, eventAt: eventAt, now: now)
        case "customer.subscription.created", "customer.subscription.updated", "customer.subscription.deleted":
            return try await subscriptionChanged(tx, object, user: user, deleted: type.hasSuffix("deleted"), eventAt: eventAt, now: now)
        default:
            return "ignored"
        }
    }

    /// The subscription an event is about, when it is about one.
    private static func subscriptionID(type: String, _ object: StripeObject) -> String? {
        if type.hasPrefix("customer.subscription.") { return object.string("id") }
        return object.string("parent.subscription_details.subscription", "subscription")
    }

    private func checkoutCompleted(_ tx: any SQLExecutor, _ session: StripeObject, user: String, eventAt: Date, now: Date) async throws -> String {
        if let customer = session.string("customer") {
            try await PaymentRecords.saveCustomer(tx, user: user, provider: "stripe", customer: customer)
        }
        try await upkeep.open(tx, user: user, now: now)
        let sessionID = session.string("id") ?? ""
        if session.string("mode") == "subscription" {
            guard let subscription = session.string("subscription") else { return "ignored: no subscription" }
            try await subscriptions.apply(tx, user: user, .init(
                providerSubscriptionID: subscription, planID: session.string("metadata.plan_id"), status: "active", eventAt: eventAt), now: now)
            return "subscription started"
        }
        guard session.string("payment_status") == "paid" else { return "ignored: not paid" }
        guard let pack = prices.pack(session.string("metadata.pack_id") ?? "") else { return "ignored: unknown pack" }
        let reference = "checkout:\(sessionID)"
        try await WalletUpkeep.addGrantOnce(tx, user: user, asset: "credits", amount: pack.tokens, source: "pack",
                                            reference: reference, expiresAt: nil, now: now)
        try await PaymentRecords.record(
            tx, user: user, kind: "token_pack", description: pack.name, amountCents: session.int("amount_total") ?? pack.priceCents,
            currency: session.string("currency") ?? pack.currency, status: "paid", reference: reference, at: eventAt)
        return "credited \(pack.tokens) credits"
    }

    private func invoicePaid(_ tx: any SQLExecutor, _ invoice: StripeObject, user: String, eventAt: Date, now: Date) async throws -> String {
        guard let subscriptionID = invoice.string("parent.subscription_details.subscription", "subscription") else {
            return "ignored: not a subscription invoice"
        }
        try await upkeep.open(tx, user: user, now: now)
        let planID = invoice.string("parent.subscription_details.metadata.plan_id", "subscription_details.metadata.plan_id")
        let start = invoice.date("lines.data.0.period.start", "period_start")
        let end = invoice.date("lines.data.0.period.end", "period_end")
        try await subscriptions.apply(tx, user: user, .init(
            providerSubscriptionID: subscriptionID, planID: planID, status: "active", periodStart: start, periodEnd: end,
            eventAt: eventAt), now: now)
        let invoiceID = invoice.string("id") ?? subscriptionID
        let knownPlanID = try await subscriptions.find(tx, user: user)?.planID
        guard let plan = prices.plan(planID ?? knownPlanID ?? "") else {
            return "ignored: unknown plan"
        }
        // The period's allowance, once per invoice, lasting until the period ends.
        for allowance in plan.allowances where allowance.per == "period" {
            let reference = "invoice:\(invoiceID):\(allowance.asset)"
            try await WalletUpkeep.addGrantOnce(tx, user: user, asset: allowance.asset, amount: allowance.amount, source: "subscription",
                                                reference: reference, expiresAt: end, now: now)
        }
        try await PaymentRecords.record(
            tx, user: user, kind: "subscription", description: "\(plan.name) plan", amountCents: invoice.int("amount_paid") ?? plan.priceCents,
            currency: invoice.string("currency") ?? plan.currency, status: "paid", reference: "invoice:\(invoiceID)", at: eventAt)
        return "period allowance granted"
    }

    private func invoiceFailed(_ tx: any SQLExecutor, _ invoice: StripeObject, user: String, eventAt: Date, now: Date) async throws -> String {
        guard let subscriptionID = invoice.string("parent.subscription_details.subscription", "subscription") else {
            return "ignored: not a subscription invoice"
        }
        try await upkeep.open(tx, user: user, now: now)
        try await subscriptions.apply(tx, user: user, .init(providerSubscriptionID: subscriptionID, status: "past_due", eventAt: eventAt), now: now)
        let invoiceID = invoice.string("id") ?? subscriptionID
        try await PaymentRecords.record(
            tx, user: user, kind: "subscription", description: "Renewal failed", amountCents: invoice.int("amount_due") ?? 0,
            currency: invoice.string("currency") ?? prices.document.currency, status: "failed", reference: "invoice:\(invoiceID)", at: eventAt)
        return "past due"
    }

    private func subscriptionChanged(_ tx: any SQLExecutor, _ subscription: StripeObject, user: String, deleted: Bool,
                                     eventAt: Date, now: Date) async throws -> String {
        guard let id = subscription.string("id") else { return "ignored: no subscription id" }
        try await upkeep.open(tx, user: user, now: now)
        let applied = try await subscriptions.apply(tx, user: user, .init(
            providerSubscriptionID: id, planID: subscription.string("metadata.plan_id"),
            status: deleted ? "canceled" : subscription.string("status"),
            periodStart: subscription.periodStart, periodEnd: subscription.periodEnd,
            cancelAtPeriodEnd: subscription.bool("cancel_at_period_end"),
            canceledAt: subscription.date("canceled_at", "ended_at"), eventAt: eventAt), now: now)
        return applied ? (deleted ? "subscription ended" : "subscription updated") : "ignored: older than the current state"
    }

    /// The user an object belongs to: its metadata, else what is known of its subscription or customer.
    private func user(_ tx: any SQLExecutor, of object: StripeObject, subscriptionID: String? = nil) async throws -> String? {
        if let user = object.string("metadata.user_id", "client_reference_id", "parent.subscription_details.metadata.user_id",
                                    "subscription_details.metadata.user_id") {
            return user
        }
        if let subscriptionID, let user = try await subscriptions.user(tx, providerSubscriptionID: subscriptionID) { return user }
        if let customer = object.string("customer") { return try await PaymentRecords.user(tx, customer: customer) }
        return nil
    }
}
