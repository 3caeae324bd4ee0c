import AtelierProtos
import Foundation
import ServiceKit

/// A user's current subscription as the payment provider last described it. One row per user:
/// a new subscription replaces a finished one. Changes arrive as webhook events, possibly out of
/// order, so each change carries its event's time and an older event never overwrites a newer one.
struct SubscriptionStore: Sendable {
    /// Statuses in which the plan's entitlements hold until the period ends. A failed renewal
    /// (past_due) keeps them while the provider retries the payment.
    static let entitledStatuses: Set<String> = ["active", "trialing", "past_due"]

    struct Record: Sendable {
        var planID, status, providerSubscriptionID: String
        var periodStart, periodEnd: Date?
        var cancelAtPeriodEnd = false
        var canceledAt: Date?
        var lastEventAt: Date

        func entitles(at now: Date) -> Bool {
            SubscriptionStore.entitledStatuses.contains(status) && (periodEnd.map { $0 > now } ?? true)
        }
    }

    /// What one event says about a subscription; nil fields say nothing.
    struct Change: Sendable {
        var providerSubscriptionID: String
        var planID, status: String?
        var periodStart, periodEnd: Date?
        var cancelAtPeriodEnd: Bool?
        var canceledAt: Date?
        var eventAt: Date
    }

    let prices: PriceList

    func find(_ db: any SQLExecutor, user: String) async throws -> Record? {
        guard let row = try await db.first(
            """
            SELECT plan_id, status, provider_subscription_id, current_period_start, current_period_end,
                   cancel_at_period_end, canceled_at, last_event_at FROM subscriptions WHERE user_id = \(user)
            """)
        else { return nil }
        return Record(
            planID: try row.string("plan_id"), status: try row.string("status"),
            providerSubscriptionID: try row.string("provider_subscription_id"),
            periodStart: try row.optionalDate("current_period_start"), periodEnd: try row.optionalDate("current_period_end"),
            cancelAtPeriodEnd: try row.bool("cancel_at_period_end"), canceledAt: try row.optionalDate("canceled_at"),
            lastEventAt: try row.date("last_event_at"))
    }

    /// The user a provider subscription belongs to, if it is known here.
    func user(_ db: any SQLExecutor, providerSubscriptionID: String) async throws -> String? {
        try await db.first("SELECT user_id FROM subscriptions WHERE provider_subscription_id = \(providerSubscriptionID)")?
            .string("user_id")
    }

    /// The plan whose entitlements the user has now: their subscription's while it entitles, else Free.
    func effectivePlan(_ db: any SQLExecutor, user: String, now: Date) async throws -> Atelier_Commerce_V1_Plan {
        plan(of: try await find(db, user: user), at: now)
    }

    /// The plan a subscription entitles to at `now`: its own while it entitles, else Free.
    func plan(of record: Record?, at now: Date) -> Atelier_Commerce_V1_Plan {
        guard let record, record.entitles(at: now), let plan = prices.plan(record.planID) else { return prices.freePlan }
        return plan
    }

    /// Applies `change` unless the row already reflects a later event. Returns whether it applied.
    @discardableResult
    func apply(_ tx: any SQLExecutor, user: String, _ change: Change, now: Date) async throws -> Bool {
        var record: Record
        if let existing = try await find(tx, user: user) {
            guard change.eventAt >= existing.lastEventAt else { return false }
            if existing.providerSubscriptionID == change.providerSubscriptionID {
                record = existing
            } else {
                record = Record(planID: existing.planID, status: "incomplete", providerSubscriptionID: change.providerSubscriptionID,
                                lastEventAt: change.eventAt)
            }
        } else {
            record = Record(planID: PriceList.freePlanID, status: "incomplete", providerSubscriptionID: change.providerSubscriptionID,
                            lastEventAt: change.eventAt)
        }
        if let planID = change.planID, prices.plan(planID) != nil { record.planID = planID }
        if let status = change.status { record.status = status }
        if let start = change.periodStart { record.periodStart = start }
        if let end = change.periodEnd { record.periodEnd = end }
        if let cancel = change.cancelAtPeriodEnd { record.cancelAtPeriodEnd = cancel }
        if let canceledAt = change.canceledAt { record.canceledAt = canceledAt }
        record.lastEventAt = change.eventAt
        try await tx.query(
            """
            INSERT INTO subscriptions (user_id, plan_id, status, provider_subscription_id, current_period_start, current_period_end,
                                       cancel_at_period_end, canceled_at, last_event_at, updated_at)
            VALUES (\(user), \(record.planID), \(record.status), \(record.providerSubscriptionID), \(record.periodStart), \(record.periodEnd), \(record.cancelAtPeriodEnd), \(record.canceledAt), \(record.lastEventAt), \(now))
            ON CONFLICT (user_id) DO UPDATE SET plan_id = EXCLUDED.plan_id, status = EXCLUDED.status,
                provider_subscription_id = EXCLUDED.provider_subscription_id,
                current_period_start = EXCLUDED.current_period_start, current_period_end = EXCLUDED.current_period_end,
                cancel_at_period_end = EXCLUDED.cancel_at_period_end, canceled_at = EXCLUDED.canceled_at,
                last_event_at = EXCLUDED.last_event_at, updated_at = EXCLUDED.updated_at
            """)
        // The plan, and with it the calendar allowances, may differ from now on.
        try await WalletUpkeep.planChanged(tx, user: user)
        return true
    }

    /// The subscription as the API shows it: Free with status "none" when there is none.
    func view(_ db: any SQLExecutor, user: String, now: Date) async throws -> Atelier_Commerce_V1_SubscriptionResponse {
        let record = try await find(db, user: user)
        let current = plan(of: record, at: now)
        return .with {
            $0.entitlements = current.entitlements
            $0.subscription = .with { sub in
                sub.planID = current.id
                sub.planName = current.name
                sub.status = "none"
                guard let record else { return }
                // A finished subscription still shows how it ended; the plan is already Free.
                sub.status = record.entitles(at: now) ? record.status : (record.status == "canceled" ? "canceled" : "ended")
                if let start = record.periodStart { sub.currentPeriodStart = .init(date: start) }
                if let end = record.periodEnd { sub.currentPeriodEnd = .init(date: end) }
                sub.cancelAtPeriodEnd = record.cancelAtPeriodEnd
                if let canceledAt = record.canceledAt { sub.canceledAt = .init(date: canceledAt) }
            }
        }
    }
}
