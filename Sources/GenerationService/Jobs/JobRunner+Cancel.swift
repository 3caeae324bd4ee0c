import AtelierProtos
import Foundation
import ServiceKit

/// What a user or an account deletion asks of jobs from outside the workers: cancel one, purge all.
extension JobRunner {
    /// A queued job ends canceled at once and its holds go back; a running one is flagged and its
    /// worker ends it at the next step. A finished job is answered as it is.
    func cancel(job id: String, user: String) async throws -> Job {
        let now = Date.databaseNow
        let (job, holds) = try await database.transaction { tx -> (Job, [String]) in
            guard let row = try await tx.first("SELECT status, hold_ids FROM jobs WHERE id = \(id) AND user_id = \(user)\(SQL.forUpdate)") else {
                throw JobStore.table.notFound
            }
            switch try row.string("status") {
            case "queued":
                let holds = try row.string("hold_ids").split(separator: ",").map(String.init)
                let job = try await JobStore.change(tx, job: id, from: ["queued"], set: [
                    ("status", "canceled"), ("charge", holds.isEmpty ? "none" : "released"), ("finished_at", .time(now))],
                    event: "canceled", message: "canceled", now: now)
                if let job { return (job, holds) }
                return (try await JobStore.table.get(tx, id: id, owner: user), holds)
            case "running":
                try await tx.query("UPDATE jobs SET cancel_requested = TRUE WHERE id = \(id)")
                return (try await JobStore.table.get(tx, id: id, owner: user), [])
            default:
                return (try await JobStore.table.get(tx, id: id, owner: user), [])
            }
        }
        await peers.release(holds, user: user, logger: logger)
        return job
    }

    /// Deletes a deleted account's jobs (their events go with them) and every file they made;
    /// holds of unfinished jobs are released first.
    func purge(user: String) async throws -> (deleted: Int64, released: Int64) {
        let open = try await database.query("SELECT hold_ids FROM jobs WHERE user_id = \(user) AND status IN ('queued', 'running')")
        var released: Int64 = 0
        for row in open {
            let holds = try row.string("hold_ids").split(separator: ",").map(String.init)
            released += Int64(await peers.release(holds, user: user, logger: logger))
        }
        // The files go before the rows that name them, so a purge that stops half way is run again whole.
        let jobs = try await database.query("SELECT id, input FROM jobs WHERE user_id = \(user)")
        for row in jobs {
            let input = (try? JSONColumn.map(row, "input")) ?? [:]
            await results.delete(job: try row.string("id"), count: Int(input["count"] ?? "") ?? 1)
        }
        try await database.query("DELETE FROM jobs WHERE user_id = \(user)")
        try await meter.purge(user: user)
        return (Int64(jobs.count), released)
    }
}
