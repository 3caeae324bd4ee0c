import AtelierProtos
import Foundation
import GRPCCore
import ServiceKit

/// PRD 6.6's GET /api/user/usage: the metered provider calls of a period, per operation, beside
/// the plan's monthly allowances from commerce's ledger.
extension GenerationRPC {
    static let periods: [String: Atelier_Commerce_V1_UsagePeriod] = ["current_month": .currentMonth, "last_month": .lastMonth, "all_time": .allTime]
    static let textOperations: Set<String> = ["story_generation", "scene_extraction", "visual_profile"]

    func getUsage(request: ServerRequest<Atelier_Generation_V1_GetUsageRequest>,
                  context: ServerContext) async throws -> ServerResponse<Atelier_Generation_V1_UsageReport> {
        let user = try Caller.user().id
        let period = request.message.period.isEmpty ? "current_month" : request.message.period
        guard let ledgerPeriod = Self.periods[period] else {
            throw ServiceError.invalid("period", "period must be current_month, last_month or all_time")
        }
        let range = Self.range(period, now: Date.databaseNow)
        let rows = try await database.query("""
            SELECT operation, CAST(SUM(items) AS BIGINT) AS items, CAST(SUM(tokens) AS BIGINT) AS tokens,
                   CAST(SUM(cost_micros) AS BIGINT) AS cost FROM usage_records
            WHERE user_id = \(user) AND created_at >= \(range.from) AND created_at < \(range.to)
            GROUP BY operation ORDER BY operation
            """)
        var report = Atelier_Generation_V1_UsageReport()
        report.period = period
        var totalMicros: Int64 = 0
        for row in rows {
            let operation = try row.string("operation")
            let items = try row.int("items"), micros = try row.int("cost")
            let tokens = try row.optionalInt("tokens")
            totalMicros += micros
            report.breakdown.append(.with {
                $0.operation = operation
                $0.count = items
                $0.cost = Self.dollars(micros)
                if Self.textOperations.contains(operation) { $0.tokensUsed = tokens ?? 0 }
            })
            switch operation {
            case "story_generation": report.summary.storiesGenerated += items
            case "audio_synthesis": report.summary.audioGenerated += items
            case "image_generation", "image_edit": report.summary.imagesGenerated += items
            default: break
            }
            report.summary.totalTokensUsed += tokens ?? 0
        }
        report.summary.totalCost = Self.dollars(totalMicros)

        // The allowances are this month's, whatever the period: what is left to use now.
        let ledger = try await peers.usage(user: user, period: ledgerPeriod)
        report.limits.storiesUsed = ledger.monthlyStoriesUsed
        report.limits.storiesLimit = ledger.monthlyStoriesLimit
        report.limits.percentage = Self.percent(ledger.monthlyStoriesUsed, of: ledger.monthlyStoriesLimit)
        report.limits.allowances = ledger.allowances.map { allowance in
            .with {
                $0.asset = allowance.asset
                $0.used = allowance.used
                $0.limit = allowance.limit
                $0.percentage = Self.percent(allowance.used, of: allowance.limit)
            }
        }
        return ServerResponse(message: report)
    }

    static func percent(_ used: Int64, of limit: Int64) -> Int32 {
        limit <= 0 ? 0 : Int32(min(100, used * 100 / limit))
    }

    /// Dollars to the hundredth of a cent, as the report shows them.
    static func dollars(_ micros: Int64) -> Double { (Double(micros) / 100).rounded() / 10_000 }

    /// The period's start and end, by the calendar month in UTC.
    static func range(_ period: String, now: Date) -> (from: Date, to: Date) {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!  // '!' is fine: UTC always exists.
        let month = calendar.dateInterval(of: .month, for: now)!  // '!' is fine: every date has a month.
        switch period {
        case "last_month": return (calendar.date(byAdding: .month, value: -1, to: month.start)!, month.start)  // '!' is fine: a month back exists.
        case "all_time": return (Date(timeIntervalSince1970: 0), now.addingTimeInterval(1))
        default: return (month.start, month.end)
        }
    }
}
