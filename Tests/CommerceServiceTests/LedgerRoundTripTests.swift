import AtelierProtos
import AtelierTestSupport
@testable import CommerceService
import Foundation
import Logging
import ServiceKit
import ServiceLifecycle
import Synchronization
import Testing

/// Counts the statements sent to the database, BEGIN and COMMIT included: each is a round trip
/// on PostgreSQL.
final class CountingDatabase: Database {
    let base: any Database
    private let counted = Mutex<[String]>([])

    init(_ base: any Database) { self.base = base }

    var dialect: SQLDialect { base.dialect }
    var statements: [String] { counted.withLock { $0 } }
    func reset() { counted.withLock { $0 = [] } }

    func query(_ statement: SQL) async throws -> [SQLRow] {
        counted.withLock { $0.append(statement.description) }
        return try await base.query(statement)
    }

    func transaction<T: Sendable>(_ body: @Sendable (any SQLExecutor) async throws -> T) async throws -> T {
        counted.withLock { $0.append("BEGIN") }
        defer { counted.withLock { $0.append("COMMIT") } }
        return try await base.transaction { tx in try await body(Counting(base: tx, database: self)) }
    }

    func run() async throws { try await base.run() }
    func close() async throws { try await base.close() }

    /// A ledger on the stack's commerce database whose statements are counted.
    static func ledger(_ stack: TestStack) throws -> (ledger: Ledger, database: CountingDatabase, upkeep: WalletUpkeep) {
        let prices = try PriceList.load(path: nil)
        let database = CountingDatabase(stack.database(.commerce))
        let upkeep = WalletUpkeep(prices: prices, subscriptions: SubscriptionStore(prices: prices))
        return (Ledger(database: database, prices: prices, upkeep: upkeep, clock: .system), database, upkeep)
    }

    struct Counting: SQLExecutor {
        let base: any SQLExecutor
        let database: CountingDatabase
        var dialect: SQLDialect { base.dialect }

        func query(_ statement: SQL) async throws -> [SQLRow] {
            database.counted.withLock { $0.append(statement.description) }
            return try await base.query(statement)
        }
    }
}

@Suite("The ledger's round trips")
struct LedgerRoundTripTests {
    @Test("a Hold and its Settle take at most 12 statements, BEGIN and COMMIT included; reads write nothing",
          arguments: TestBackend.available)
    func twelve(backend: TestBackend) async throws {
        try await TestStack.with(backend, services: [.commerce]) { stack in
            let (ledger, database, upkeep) = try CountingDatabase.ledger(stack)
            // The first movement of a wallet creates it and grants today's allowances: upkeep, once.
            _ = try await ledger.grant(.with {
                $0.asset = "credits"; $0.amount = 100; $0.source = "admin"; $0.idempotencyKey = "fund"
            }, user: "user_pairs")
            for pair in 0..<3 {
                database.reset()
                let held = try await ledger.hold(.with {
                    $0.asset = "credits"; $0.amount = 1; $0.jobID = "job-\(pair)"; $0.idempotencyKey = "hold-\(pair)"
                }, user: "user_pairs")
                _ = try await ledger.settle(.with { $0.holdID = held.hold.id; $0.idempotencyKey = "settle-\(pair)" }, user: "user_pairs")
                #expect(database.statements.count <= 12, "\(database.statements.count): \(database.statements.joined(separator: " | "))")
            }
            database.reset()
            let view = try await WalletView.read(database, user: "user_pairs", now: Date(), upkeep: upkeep)
            // The signup's 3 and the 100 granted, less the 3 spent.
            let credits = view.balances.first { $0.asset == "credits" }
            #expect(credits?.available == 100)
            #expect(database.statements.allSatisfy { $0.hasPrefix("SELECT") }, "\(database.statements)")
            #expect(!database.statements.contains("BEGIN"), "a read takes no transaction, so no lock")
        }
    }
}
