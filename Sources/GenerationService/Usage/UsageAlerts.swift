import AtelierProtos
import Foundation
import Logging
import ServiceKit

/// The PRD's usage alerts (section 10): when a job spends from a monthly allowance (stories,
/// narrations, avatars, images...), the user is told at 80% and at 100% of it, once per threshold
/// and period. The ledger says how much is used; `usage_alerts` remembers what was sent, and auth
/// queues the message in its mail outbox (once per key, so a retried call sends nothing more).
/// When one job crosses both thresholds, one message says the allowance is used up.
struct UsageAlerts: Sendable {
    let database: any Database
    let peers: Peers
    let logger: Logger

    static let thresholds = [80, 100]

    /// Checks the user's allowances after a job spent from `assets`; never fails the job.
    func check(user: String, assets: Set<String>) async {
        do {
            let usage = try await peers.usage(user: user)
            for allowance in usage.allowances where assets.contains(allowance.asset) && allowance.limit > 0 && allowance.hasResetsAt {
                try await alert(user: user, allowance: allowance)
            }
        } catch {
            logger.warning("usage alerts could not be checked", metadata: ["user": "\(user)", "error": "\(error)"])
        }
    }

    private func alert(user: String, allowance: Atelier_Commerce_V1_AllowanceUsage) async throws {
        let percent = Int(allowance.used * 100 / allowance.limit)
        let crossed = Self.thresholds.filter { percent >= $0 }
        guard let highest = crossed.last else { return }
        let periodEnd = allowance.resetsAt.date
        let now = Date.databaseNow
        var fresh: [Int] = []
        for threshold in crossed {
            let inserted = try await database.query("""
                INSERT INTO usage_alerts (user_id, asset, period_end, threshold, sent_at)
                VALUES (\(user), \(allowance.asset), \(periodEnd), \(Int64(threshold)), \(now))
                ON CONFLICT DO NOTHING RETURNING threshold
                """)
            if !inserted.isEmpty { fresh.append(threshold) }
        }
        guard fresh.contains(highest) else { return }
        let text = Self.message(asset: allowance.asset, used: allowance.used, limit: allowance.limit, threshold: highest,
                                resets: allowance.resetsAt.date)
        let key = "usage-alert:\(user):\(allowance.asset):\(Int64(periodEnd.timeIntervalSince1970)):\(highest)"
        do {
            _ = try await peers.notify(user: user, kind: "usage_alert", subject: text.subject, body: text.body, key: key)
            logger.info("usage alert queued", metadata: ["user": "\(user)", "asset": "\(allowance.asset)", "threshold": "\(highest)"])
        } catch {
            // Not sent: forget the thresholds so the next job that spends from it tries again.
            for threshold in fresh {
                _ = try? await database.query("""
                    DELETE FROM usage_alerts WHERE user_id = \(user) AND asset = \(allowance.asset)
                    AND period_end = \(periodEnd) AND threshold = \(Int64(threshold))
                    """)
            }
            throw error
        }
    }

    static let names = ["stories": "stories", "narrations": "narrations", "avatars": "hero avatars", "illustrations": "illustrations",
                        "images": "image generations", "videos": "video generations"]

    static func message(asset: String, used: Int64, limit: Int64, threshold: Int, resets: Date) -> (subject: String, body: String) {
        let name = names[asset] ?? asset
        let day = resets.formatted(.iso8601.year().month().day())
        if threshold >= 100 {
            return ("You have used all your \(name) this month",
                    """
                    You have used all \(limit) \(name) of your plan this month. They renew on \(day).

                    Upgrade your plan, or use credits, to keep going before then.
                    """)
        }
        return ("You have used \(threshold)% of your \(name) this month",
                """
                You have used \(used) of the \(limit) \(name) of your plan this month. They renew on \(day).
                """)
    }
}
