import AtelierProtos
import AtelierTestSupport
import Foundation
import GRPCCore
import ServiceKit
import Testing

/// The credit ledger through gRPC, as generation will use it, on SQLite and PostgreSQL.
@Suite("Credit ledger")
struct LedgerTests {
    /// A wallet holding exactly `credits` credits: the signup grant topped up by an admin grant.
    static func fund(_ commerce: CommerceClient, _ stack: TestStack, user: String, credits: Int64) async throws {
        let wallet = try await commerce.getWallet(.with { $0.userID = user }, metadata: try stack.serviceMetadata())
        let signup = CommerceFixture.balance(wallet, "credits")
        #expect(signup == 3)
        _ = try await commerce.grant(.with {
            $0.userID = user; $0.asset = "credits"; $0.amount = credits - signup; $0.source = "admin"; $0.idempotencyKey = "fund-\(user)"
        }, metadata: try stack.serviceMetadata())
    }

    @Test("200 concurrent holds of 1 on a balance of 100: exactly 100 succeed", arguments: TestBackend.available)
    func concurrentHolds(backend: TestBackend) async throws {
        try await TestStack.with(backend, services: [.commerce]) { stack in
            try await stack.withClient(.commerce) { client in
                let commerce = CommerceClient(wrapping: client)
                try await Self.fund(commerce, stack, user: "u-holds", credits: 100)
                let metadata = try stack.serviceMetadata(name: "generation")
                let outcomes = try await withThrowingTaskGroup(of: Bool.self) { group in
                    for i in 0..<200 {
                        group.addTask {
                            do {
                                _ = try await commerce.hold(.with {
                                    $0.userID = "u-holds"; $0.asset = "credits"; $0.amount = 1; $0.jobID = "job-\(i)"; $0.idempotencyKey = "hold-\(i)"
                                }, metadata: metadata)
                                return true
                            } catch let error as RPCError where error.code == .failedPrecondition {
                                return false
                            }
                        }
                    }
                    return try await group.reduce(into: [Bool]()) { $0.append($1) }
                }
                #expect(outcomes.filter { $0 }.count == 100)
                let wallet = try await commerce.getWallet(.with { $0.userID = "u-holds" }, metadata: metadata)
                #expect(wallet.credits == 0)
                #expect(wallet.balances.first { $0.asset == "credits" }?.held == 100)
                let sums = try await CommerceFixture.sums(stack, user: "u-holds", asset: "credits")
                #expect(sums.entries == 0 && sums.remaining == 0)
            }
        }
    }

    @Test("one idempotency key sent 50 times concurrently moves credits once, with identical replies", arguments: TestBackend.available)
    func idempotentHold(backend: TestBackend) async throws {
        try await TestStack.with(backend, services: [.commerce]) { stack in
            try await stack.withClient(.commerce) { client in
                let commerce = CommerceClient(wrapping: client)
                try await Self.fund(commerce, stack, user: "u-key", credits: 20)
                let metadata = try stack.serviceMetadata(name: "generation")
                let request = Atelier_Commerce_V1_HoldRequest.with {
                    $0.userID = "u-key"; $0.asset = "credits"; $0.amount = 5; $0.jobID = "job-1"; $0.idempotencyKey = "same-key"
                }
                let replies = try await withThrowingTaskGroup(of: [UInt8].self) { group in
                    for _ in 0..<50 {
                        group.addTask { try await commerce.hold(request, metadata: metadata).serializedBytes() }
                    }
                    return try await group.reduce(into: [[UInt8]]()) { $0.append($1) }
                }
                #expect(Set(replies).count == 1)
                let wallet = try await commerce.getWallet(.with { $0.userID = "u-key" }, metadata: metadata)
                #expect(wallet.credits == 15)
                var changed = request
                changed.amount = 6
                let refused = await failure { try await commerce.hold(changed, metadata: metadata) }
                #expect(refused?.code == .alreadyExists)
                #expect(refused?.reason == "IDEMPOTENCY_KEY_REUSED")
                let after = try await commerce.getWallet(.with { $0.userID = "u-key" }, metadata: metadata)
                #expect(after.credits == 15)
                let sums = try await CommerceFixture.sums(stack, user: "u-key", asset: "credits")
                #expect(sums.entries == 15 && sums.remaining == 15)
            }
        }
    }

    @Test("expired grants cannot be spent, and expire in the ledger", arguments: TestBackend.available)
    func expiredGrants(backend: TestBackend) async throws {
        let clock = ManualClock()
        try await TestStack.with(backend, services: [.commerce], clock: clock.serviceClock) { stack in
            try await stack.withClient(.commerce) { client in
                let commerce = CommerceClient(wrapping: client)
                let metadata = try stack.serviceMetadata(name: "generation")
                _ = try await commerce.grant(.with {
                    $0.userID = "u-exp"; $0.asset = "videos"; $0.amount = 4; $0.source = "admin"; $0.idempotencyKey = "g1"
                    $0.expiresAt = .init(date: clock.now.addingTimeInterval(3))
                }, metadata: try stack.serviceMetadata())
                let before = try await commerce.getWallet(.with { $0.userID = "u-exp" }, metadata: metadata)
                // Videos: an asset the Free plan's own allowances do not add to.
                #expect(CommerceFixture.balance(before, "videos") == 4)
                clock.advance(4)
                let refused = await failure {
                    try await commerce.hold(.with {
                        $0.userID = "u-exp"; $0.asset = "videos"; $0.amount = 1; $0.idempotencyKey = "h1"
                    }, metadata: metadata)
                }
                #expect(refused?.reason == "INSUFFICIENT_CREDITS")
                let after = try await commerce.getWallet(.with { $0.userID = "u-exp" }, metadata: metadata)
                #expect(CommerceFixture.balance(after, "videos") == 0)
                // The expiry is recorded, though the hold that found it was refused.
                let sums = try await CommerceFixture.sums(stack, user: "u-exp", asset: "videos")
                #expect(sums.entries == 0 && sums.remaining == 0)
            }
        }
    }

    @Test("a hold released after a failure restores the balance; settle spends it", arguments: TestBackend.available)
    func releaseAndSettle(backend: TestBackend) async throws {
        try await TestStack.with(backend, services: [.commerce]) { stack in
            try await stack.withClient(.commerce) { client in
                let commerce = CommerceClient(wrapping: client)
                let metadata = try stack.serviceMetadata(name: "generation")
                try await Self.fund(commerce, stack, user: "u-rel", credits: 10)
                // An image draws from the month's free generations before credits.
                let image = try await commerce.hold(.with {
                    $0.userID = "u-rel"; $0.operation = "image"; $0.jobID = "job-a"; $0.idempotencyKey = "ha"
                }, metadata: metadata)
                #expect(image.hold.asset == "images")
                #expect(image.balance.available == 2)
                let video = try await commerce.hold(.with {
                    $0.userID = "u-rel"; $0.operation = "video_4s"; $0.jobID = "job-b"; $0.idempotencyKey = "hb"
                }, metadata: metadata)
                #expect(video.hold.asset == "credits" && video.hold.amount == 5)
                #expect(video.balance.available == 5 && video.balance.held == 5)

                let released = try await commerce.release(.with {
                    $0.userID = "u-rel"; $0.holdID = video.hold.id; $0.idempotencyKey = "rb"
                }, metadata: metadata)
                #expect(released.hold.status == "released")
                #expect(released.balance.available == 10 && released.balance.held == 0)
                let settled = try await commerce.settle(.with {
                    $0.userID = "u-rel"; $0.holdID = image.hold.id; $0.idempotencyKey = "sa"
                }, metadata: metadata)
                #expect(settled.hold.status == "settled")
                #expect(settled.balance.available == 2)

                // A settled hold cannot be released; a released one cannot be settled.
                let releaseSettled = await failure {
                    try await commerce.release(.with { $0.userID = "u-rel"; $0.holdID = image.hold.id; $0.idempotencyKey = "ra" }, metadata: metadata)
                }
                #expect(releaseSettled?.reason == "HOLD_NOT_OPEN")
                let settleReleased = await failure {
                    try await commerce.settle(.with { $0.userID = "u-rel"; $0.holdID = video.hold.id; $0.idempotencyKey = "sb" }, metadata: metadata)
                }
                #expect(settleReleased?.reason == "HOLD_NOT_OPEN")
                // Another user's hold does not exist for this one.
                let foreign = await failure {
                    try await commerce.settle(.with { $0.userID = "someone-else"; $0.holdID = image.hold.id; $0.idempotencyKey = "x" }, metadata: metadata)
                }
                #expect(foreign?.code == .notFound)
                for asset in ["credits", "images"] {
                    let sums = try await CommerceFixture.sums(stack, user: "u-rel", asset: asset)
                    #expect(sums.entries == sums.remaining)
                }
            }
        }
    }

    @Test("a hold nobody settles expires and gives its credits back", arguments: TestBackend.available)
    func holdExpiry(backend: TestBackend) async throws {
        let clock = ManualClock()
        try await TestStack.with(backend, services: [.commerce], clock: clock.serviceClock) { stack in
            try await stack.withClient(.commerce) { client in
                let commerce = CommerceClient(wrapping: client)
                let metadata = try stack.serviceMetadata(name: "generation")
                let hold = try await commerce.hold(.with {
                    $0.userID = "u-ttl"; $0.asset = "credits"; $0.amount = 2; $0.ttlSeconds = 1; $0.idempotencyKey = "h"
                }, metadata: metadata)
                #expect(hold.balance.available == 1)
                clock.advance(1.5)
                // A read shows the credits back at once, without writing; the next movement records it.
                let wallet = try await commerce.getWallet(.with { $0.userID = "u-ttl" }, metadata: metadata)
                #expect(wallet.credits == 3)
                let late = await failure {
                    try await commerce.settle(.with { $0.userID = "u-ttl"; $0.holdID = hold.hold.id; $0.idempotencyKey = "s" }, metadata: metadata)
                }
                #expect(late?.reason == "HOLD_NOT_OPEN")
                _ = try await commerce.hold(.with {
                    $0.userID = "u-ttl"; $0.asset = "credits"; $0.amount = 3; $0.idempotencyKey = "h2"
                }, metadata: metadata)
                let sums = try await CommerceFixture.sums(stack, user: "u-ttl", asset: "credits")
                #expect(sums.entries == 0 && sums.remaining == 0)
            }
        }
    }

    @Test("movements are for services; bad requests name the field", arguments: [TestBackend.sqlite])
    func validation(backend: TestBackend) async throws {
        try await TestStack.with(backend, services: [.commerce]) { stack in
            try await stack.withClient(.commerce) { client in
                let commerce = CommerceClient(wrapping: client)
                let service = try stack.serviceMetadata(name: "generation")
                let user = try stack.userMetadata(id: "u-v", sessionID: "s")
                let asUser = await failure {
                    try await commerce.grant(.with { $0.asset = "credits"; $0.amount = 5; $0.source = "admin"; $0.idempotencyKey = "k" }, metadata: user)
                }
                #expect(asUser?.code == .permissionDenied)
                let cases: [(Atelier_Commerce_V1_HoldRequest, String)] = [
                    (.with { $0.userID = "u-v"; $0.asset = "credits"; $0.amount = 1 }, "idempotencyKey"),
                    (.with { $0.userID = "u-v"; $0.asset = "gold"; $0.amount = 1; $0.idempotencyKey = "k" }, "asset"),
                    (.with { $0.userID = "u-v"; $0.asset = "credits"; $0.amount = -1; $0.idempotencyKey = "k" }, "amount"),
                    (.with { $0.userID = "u-v"; $0.operation = "sculpture"; $0.idempotencyKey = "k" }, "operation"),
                    (.with { $0.asset = "credits"; $0.amount = 1; $0.idempotencyKey = "k" }, "userId"),
                    (.with { $0.userID = "u-v"; $0.asset = "credits"; $0.amount = 1; $0.ttlSeconds = 90_000; $0.idempotencyKey = "k" }, "ttlSeconds"),
                ]
                for (request, field) in cases {
                    let refused = await failure { try await commerce.hold(request, metadata: service) }
                    #expect(refused?.code == .invalidArgument, "\(field)")
                    #expect(refused?.field == field)
                }
            }
        }
    }
}
