import AtelierProtos
import AtelierTestSupport
@testable import CommerceService
import Foundation
import GRPCCore
import ServiceKit
import Testing

/// PlaceHolds: the holds of submits that arrive together, in one transaction, all or none.
@Suite("Placing holds in a batch")
struct PlaceHoldsTests {
    static func hold(_ user: String, _ amount: Int64, key: String) -> Atelier_Commerce_V1_HoldRequest {
        .with { $0.userID = user; $0.asset = "credits"; $0.amount = amount; $0.jobID = "job-\(key)"; $0.idempotencyKey = key }
    }

    @Test("a batch holds for several wallets, one after another within a wallet, each under its own key; one it cannot cover fails it whole",
          arguments: TestBackend.available)
    func batch(backend: TestBackend) async throws {
        try await TestStack.with(backend, services: [.commerce]) { stack in
            try await stack.withClient(.commerce) { client in
                let commerce = CommerceClient(wrapping: client)
                let metadata = try stack.serviceMetadata(name: "generation")
                try await LedgerTests.fund(commerce, stack, user: "u-p1", credits: 10)
                try await LedgerTests.fund(commerce, stack, user: "u-p2", credits: 10)

                let batch = try await commerce.placeHolds(.with {
                    $0.holds = [Self.hold("u-p1", 4, key: "a"), Self.hold("u-p2", 3, key: "b"), Self.hold("u-p1", 5, key: "c")]
                }, metadata: metadata)
                #expect(batch.held.map(\.hold.jobID) == ["job-a", "job-b", "job-c"])
                #expect(batch.held.allSatisfy { $0.hold.status == "held" && !$0.movementID.isEmpty })
                // Each balance is its wallet's just after that hold, as if placed one after another.
                #expect(batch.held.map(\.balance.available) == [6, 7, 1])
                #expect(batch.held.map(\.balance.held) == [4, 3, 9])
                for user in ["u-p1", "u-p2"] {
                    let sums = try await CommerceFixture.sums(stack, user: user, asset: "credits")
                    #expect(sums.entries == sums.remaining)
                }
                // u-p1's second hold draws after the first: from what the first left, never a grant it emptied.
                let empty = try await stack.database(.commerce).first("SELECT COUNT(*) AS n FROM ledger_entries WHERE amount = 0 AND kind = 'hold'")
                #expect(try empty?.int("n") == 0)
                // A Hold under a batch's key is a retry: the batch's reply again, nothing more held.
                let retried = try await commerce.hold(Self.hold("u-p1", 4, key: "a"), metadata: metadata)
                #expect(retried == batch.held[0])

                // All or none: u-p1 has 1 left, so the batch holds nothing, not even u-p2's.
                let refused = await failure {
                    try await commerce.placeHolds(.with { $0.holds = [Self.hold("u-p2", 2, key: "d"), Self.hold("u-p1", 2, key: "e")] },
                                                  metadata: metadata)
                }
                #expect(refused?.code == .failedPrecondition && refused?.reason == "BATCH_NOT_HELD")
                // A key seen before fails it too; Hold with that key is the one that answers.
                let again = await failure {
                    try await commerce.placeHolds(.with { $0.holds = [Self.hold("u-p2", 1, key: "b")] }, metadata: metadata)
                }
                #expect(again?.reason == "BATCH_NOT_HELD")
                let wallet = try await commerce.getWallet(.with { $0.userID = "u-p2" }, metadata: metadata)
                #expect(wallet.balances.first { $0.asset == "credits" }?.held == 3)
                let holds = try await stack.database(.commerce).first("SELECT COUNT(*) AS n FROM holds")?.int("n")
                #expect(holds == 3)
            }
        }
    }

    @Test("a batch is for services, holds 1 to 100 holds with keys of their own, each asking for something known", arguments: [TestBackend.sqlite])
    func validation(backend: TestBackend) async throws {
        try await TestStack.with(backend, services: [.commerce]) { stack in
            try await stack.withClient(.commerce) { client in
                let commerce = CommerceClient(wrapping: client)
                let metadata = try stack.serviceMetadata(name: "generation")
                let empty = await failure { try await commerce.placeHolds(.init(), metadata: metadata) }
                #expect(empty?.code == .invalidArgument && empty?.field == "holds")
                let tooMany = await failure {
                    try await commerce.placeHolds(.with { $0.holds = (0...100).map { Self.hold("u", 1, key: "k\($0)") } }, metadata: metadata)
                }
                #expect(tooMany?.field == "holds")
                let twice = await failure { try await commerce.placeHolds(.with { $0.holds = [Self.hold("u", 1, key: "k"), Self.hold("u", 2, key: "k")] },
                                                                          metadata: metadata) }
                #expect(twice?.field == "holds")
                let keyless = await failure { try await commerce.placeHolds(.with { $0.holds = [Self.hold("u", 1, key: "")] }, metadata: metadata) }
                #expect(keyless?.field == "idempotencyKey")
                let unknown = await failure {
                    try await commerce.placeHolds(.with { $0.holds = [.with { $0.userID = "u"; $0.operation = "sculpture"; $0.idempotencyKey = "k" }] },
                                                  metadata: metadata)
                }
                #expect(unknown?.field == "operation")
                let edge = await failure { try await commerce.placeHolds(.with { $0.holds = [Self.hold("u", 1, key: "k")] },
                                                                         metadata: try stack.serviceMetadata(name: "edge")) }
                #expect(edge?.code == .permissionDenied)
            }
        }
    }

    @Test("a batch of holds takes a read a wallet and six statements more, BEGIN and COMMIT included", arguments: TestBackend.available)
    func statements(backend: TestBackend) async throws {
        try await TestStack.with(backend, services: [.commerce]) { stack in
            let (ledger, database, _) = try CountingDatabase.ledger(stack)
            var holds: [(user: String, request: Atelier_Commerce_V1_HoldRequest)] = []
            for user in ["user_a", "user_b", "user_c"] {
                _ = try await ledger.grant(.with { $0.asset = "credits"; $0.amount = 10; $0.source = "admin"; $0.idempotencyKey = "fund" }, user: user)
                for job in 0..<2 { holds.append((user, Self.hold(user, 2, key: "hold-\(job)"))) }
            }
            database.reset()
            let held = try await ledger.hold(batch: holds)
            #expect(held.count == 6)
            #expect(database.statements.count == 3 + 6, "\(database.statements.joined(separator: " | "))")
        }
    }
}
