import AtelierProtos
import AtelierTestSupport
@testable import CommerceService
import Foundation
import GRPCCore
import ServiceKit
import Testing

/// SettleHolds: the settles of jobs that finish together, in one transaction, all or none.
@Suite("Settling holds in a batch")
struct SettleHoldsTests {
    static func settle(_ hold: Atelier_Commerce_V1_MovementResponse, user: String) -> Atelier_Commerce_V1_SettleRequest {
        .with { $0.userID = user; $0.holdID = hold.hold.id; $0.idempotencyKey = "settle:\(hold.hold.id)" }
    }

    @Test("a batch spends every hold of several wallets, each recorded under its own key; a hold not open fails it whole",
          arguments: TestBackend.available)
    func batch(backend: TestBackend) async throws {
        try await TestStack.with(backend, services: [.commerce]) { stack in
            try await stack.withClient(.commerce) { client in
                let commerce = CommerceClient(wrapping: client)
                let metadata = try stack.serviceMetadata(name: "generation")
                try await LedgerTests.fund(commerce, stack, user: "u-b1", credits: 10)
                try await LedgerTests.fund(commerce, stack, user: "u-b2", credits: 10)
                func hold(_ user: String, _ amount: Int64, _ key: String) async throws -> Atelier_Commerce_V1_MovementResponse {
                    try await commerce.hold(.with {
                        $0.userID = user; $0.asset = "credits"; $0.amount = amount; $0.jobID = "job-\(key)"; $0.idempotencyKey = key
                    }, metadata: metadata)
                }
                let first = try await hold("u-b1", 2, "h1"), second = try await hold("u-b1", 2, "h2"), third = try await hold("u-b2", 3, "h3")

                let batch = try await commerce.settleHolds(.with {
                    $0.settles = [Self.settle(first, user: "u-b1"), Self.settle(second, user: "u-b1"), Self.settle(third, user: "u-b2")]
                }, metadata: metadata)
                #expect(batch.settled.map(\.hold.id) == [first.hold.id, second.hold.id, third.hold.id])
                #expect(batch.settled.allSatisfy { $0.hold.status == "settled" && !$0.movementID.isEmpty })
                // Each balance is its wallet's after the whole batch: nothing of it still held.
                #expect(batch.settled.map(\.balance.available) == [6, 6, 7])
                #expect(batch.settled.map(\.balance.held) == [0, 0, 0])
                for user in ["u-b1", "u-b2"] {
                    let sums = try await CommerceFixture.sums(stack, user: user, asset: "credits")
                    #expect(sums.entries == sums.remaining)
                    let settles = try await stack.database(.commerce).first(
                        "SELECT COUNT(*) AS n FROM ledger_entries WHERE user_id = \(user) AND kind = 'settle'")?.int("n")
                    #expect(settles == (user == "u-b1" ? 2 : 1))
                }

                // A Settle under a batch's key is a retry: the batch's reply again, nothing moved.
                let retried = try await commerce.settle(Self.settle(first, user: "u-b1"), metadata: metadata)
                #expect(retried == batch.settled[0])

                // All or none: a hold settled before fails the batch, and the open one beside it stays held.
                let fourth = try await hold("u-b2", 1, "h4")
                let refused = await failure {
                    try await commerce.settleHolds(.with {
                        $0.settles = [Self.settle(fourth, user: "u-b2"), .with { $0.userID = "u-b1"; $0.holdID = first.hold.id; $0.idempotencyKey = "again" }]
                    }, metadata: metadata)
                }
                #expect(refused?.code == .failedPrecondition && refused?.reason == "BATCH_NOT_SETTLED")
                // Another user's hold does not settle under this one's name either.
                let foreign = await failure {
                    try await commerce.settleHolds(.with { $0.settles = [.with { $0.userID = "u-b1"; $0.holdID = fourth.hold.id; $0.idempotencyKey = "x" }] },
                                                   metadata: metadata)
                }
                #expect(foreign?.reason == "BATCH_NOT_SETTLED")
                let wallet = try await commerce.getWallet(.with { $0.userID = "u-b2" }, metadata: metadata)
                #expect(wallet.balances.first { $0.asset == "credits" }?.held == 1)
                let sums = try await CommerceFixture.sums(stack, user: "u-b2", asset: "credits")
                #expect(sums.entries == sums.remaining)
            }
        }
    }

    @Test("a batch is for services, holds 1 to 100 settles of distinct holds, and each names its key", arguments: [TestBackend.sqlite])
    func validation(backend: TestBackend) async throws {
        try await TestStack.with(backend, services: [.commerce]) { stack in
            try await stack.withClient(.commerce) { client in
                let commerce = CommerceClient(wrapping: client)
                let metadata = try stack.serviceMetadata(name: "generation")
                let settle: Atelier_Commerce_V1_SettleRequest = .with { $0.userID = "u"; $0.holdID = "hold_1"; $0.idempotencyKey = "k" }
                let empty = await failure { try await commerce.settleHolds(.init(), metadata: metadata) }
                #expect(empty?.code == .invalidArgument && empty?.field == "settles")
                let tooMany = await failure {
                    try await commerce.settleHolds(.with { $0.settles = (0...100).map { index in
                        .with { $0.userID = "u"; $0.holdID = "hold_\(index)"; $0.idempotencyKey = "k\(index)" }
                    } }, metadata: metadata)
                }
                #expect(tooMany?.field == "settles")
                let twice = await failure { try await commerce.settleHolds(.with { $0.settles = [settle, settle] }, metadata: metadata) }
                #expect(twice?.field == "settles")
                let keyless = await failure {
                    try await commerce.settleHolds(.with { $0.settles = [.with { $0.userID = "u"; $0.holdID = "hold_1" }] }, metadata: metadata)
                }
                #expect(keyless?.field == "idempotencyKey")
                let edge = await failure { try await commerce.settleHolds(.with { $0.settles = [settle] }, metadata: try stack.serviceMetadata(name: "edge")) }
                #expect(edge?.code == .permissionDenied)
            }
        }
    }

    @Test("a batch of settles takes five statements, BEGIN and COMMIT included, however many holds", arguments: TestBackend.available)
    func five(backend: TestBackend) async throws {
        try await TestStack.with(backend, services: [.commerce]) { stack in
            let (ledger, database, _) = try CountingDatabase.ledger(stack)
            var settles: [(user: String, request: Atelier_Commerce_V1_SettleRequest)] = []
            for user in ["user_a", "user_b", "user_c"] {
                _ = try await ledger.grant(.with { $0.asset = "credits"; $0.amount = 10; $0.source = "admin"; $0.idempotencyKey = "fund" }, user: user)
                for job in 0..<2 {
                    let held = try await ledger.hold(.with { $0.asset = "credits"; $0.amount = 1; $0.jobID = "job-\(job)"; $0.idempotencyKey = "hold-\(job)" },
                                                     user: user)
                    settles.append((user, .with { $0.holdID = held.hold.id; $0.idempotencyKey = "settle:\(held.hold.id)" }))
                }
            }
            database.reset()
            let settled = try await ledger.settle(batch: settles)
            #expect(settled.count == 6)
            #expect(database.statements.count == 5, "\(database.statements.joined(separator: " | "))")
        }
    }
}
