import AtelierProtos
import Foundation
import GRPCCore
import ServiceKit

extension CommerceRPC {
    /// Spending comes from settled holds in the period; allowances from the grants that are
    /// current now (today's free generations, this month's or this period's allowance), read
    /// without locking or writing (`WalletView`).
    public func getUsageStats(request: Atelier_Commerce_V1_GetUsageStatsRequest, context: ServerContext) async throws -> Atelier_Commerce_V1_GetUsageStatsResponse {
        let user = try subject(request.userID)
        let period = request.period == .unspecified ? .currentMonth : request.period
        let now = clock.now()
        let thisMonth = CalendarPeriod(.month, containing: now)
        let range: (from: Date, to: Date) = switch period {
        case .lastMonth: (CalendarPeriod(.month, containing: thisMonth.start.addingTimeInterval(-1)).start, thisMonth.start)
        case .allTime: (Date(timeIntervalSince1970: 0), now.addingTimeInterval(1))
        default: (thisMonth.start, thisMonth.end)
        }
        let view = try await WalletView.read(database, user: user, now: now, upkeep: upkeep)
        let plan = try await subscriptions.effectivePlan(database, user: user, now: now)
        let spent = try await database.query("""
            SELECT operation, asset, COUNT(*) AS n, CAST(SUM(amount) AS BIGINT) AS total FROM holds
            WHERE user_id = \(user) AND status = 'settled' AND finished_at >= \(range.from) AND finished_at < \(range.to)
            GROUP BY operation, asset
            """)
        var byOperation: [String: Int64] = [:]
        var tokens: Int64 = 0
        for row in spent {
            byOperation[try row.string("operation"), default: 0] += try row.int("n")
            if try row.string("asset") == "credits" { tokens += try row.int("total") }
        }
        var usage: [String: Atelier_Commerce_V1_AllowanceUsage] = [:]
        for grant in view.grants where ["daily", "monthly", "subscription"].contains(grant.source) {
            guard let expiry = grant.expiresAt else { continue }
            var entry = usage[grant.asset] ?? .with { $0.asset = grant.asset }
            entry.limit += grant.amount
            entry.remaining += grant.remaining
            if !entry.hasResetsAt || expiry < entry.resetsAt.date { entry.resetsAt = .init(date: expiry) }
            usage[grant.asset] = entry
        }
        let listed = usage.values.map { entry in
            var entry = entry
            entry.used = entry.limit - entry.remaining
            return entry
        }.sorted { $0.asset < $1.asset }
        return .with {
            $0.period = period
            $0.plan = plan.id
            $0.tokensUsed = tokens
            $0.generations = byOperation.values.reduce(0, +)
            $0.breakdown = byOperation.sorted { $0.key < $1.key }.map { op in .with { $0.operation = op.key; $0.count = op.value } }
            $0.allowances = listed
            if let stories = usage["stories"] {
                $0.monthlyStoriesUsed = stories.limit - stories.remaining
                $0.monthlyStoriesLimit = stories.limit
            }
        }
    }
}
