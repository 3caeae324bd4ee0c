import AtelierProtos
import AtelierTestSupport
import Foundation
import GRPCCore
import ServiceKit
import Testing

@Suite("Deleted accounts awaiting their purge")
struct AccountPurgesTests {
    @Test("a deletion is recorded until completed; a claim pushes it back, doubling; services only",
          arguments: TestBackend.available)
    func claims(backend: TestBackend) async throws {
        try await AuthFixture.run(backend) { auth in
            let ada = try await auth.signUp("ada@example.com")
            let grace = try await auth.signUp("grace@example.com")
            let adaUser = try await auth.asUser(ada)
            let adaID = ada.user.id
            let claim = { (limit: Int32) in
                try await auth.client.claimAccountPurges(.with { $0.limit = limit; $0.retryAfterSeconds = 60 },
                                                         metadata: try auth.asService).purges
            }
            #expect(try await claim(0).isEmpty, "nobody was deleted")

            // Users may not see or end the record.
            let asUser = await failure { try await auth.client.claimAccountPurges(.init(), metadata: adaUser) }
            #expect(asUser?.code == .permissionDenied)

            _ = try await auth.client.deleteAccount(.with { $0.password = "Quiet-River-42" }, metadata: adaUser)
            _ = try await auth.client.deleteAccount(.with { $0.password = "Quiet-River-42" }, metadata: try await auth.asUser(grace))
            let first = try await claim(1)
            #expect(first.count == 1 && first[0].attempts == 0 && first[0].hasDeletedAt)
            let second = try await claim(10)
            #expect(second.count == 1 && second[0].userID != first[0].userID, "the claimed one is not due again at once")
            #expect(try await claim(10).isEmpty)
            let ids = Set([first[0].userID, second[0].userID])
            #expect(ids == [adaID, grace.user.id])

            // Due again after its pause (60 s), then pushed back twice as far (120 s).
            let database = auth.stack.database(.auth)
            let pause = { (user: String) in
                let row = try #require(try await database.first(
                    "SELECT deleted_at, next_attempt_at FROM account_purges WHERE user_id = \(user)"))
                return try row.date("next_attempt_at").timeIntervalSince(Date.databaseNow)
            }
            #expect((40...61).contains(try await pause(adaID)))
            try await database.query("UPDATE account_purges SET next_attempt_at = 0 WHERE user_id = \(adaID)")
            let again = try await claim(10)
            #expect(again.map(\.userID) == [adaID] && again[0].attempts == 1)
            #expect((100...121).contains(try await pause(adaID)))

            _ = try await auth.client.completeAccountPurge(.with { $0.userID = adaID }, metadata: try auth.asService)
            _ = try await auth.client.completeAccountPurge(.with { $0.userID = adaID }, metadata: try auth.asService)
            #expect(try await database.query("SELECT user_id FROM account_purges").count == 1, "completing twice is fine")
            let bad = await failure {
                try await auth.client.claimAccountPurges(.with { $0.limit = 101 }, metadata: try auth.asService)
            }
            #expect(bad?.field == "limit")
        }
    }
}
