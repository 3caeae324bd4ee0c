import AtelierProtos
import AtelierTestSupport
import Foundation
import ServiceKit
import Testing

/// Payment webhooks through the edge, signed as Stripe signs them.
@Suite("Payment webhooks")
struct WebhookTests {
    static func credits(_ stack: TestStack, _ token: String) async throws -> Int {
        let wallet = try await stack.http("GET", "/api/wallet", token: token)
        #expect(wallet.status == 200, "\(wallet.text)")
        return try #require(wallet.json["credits"] as? Int)
    }

    @Test("bad signatures are refused with 400 and change nothing", arguments: TestBackend.available)
    func refused(backend: TestBackend) async throws {
        try await TestStack.with(backend, edge: true, overrides: CommerceFixture.overrides) { stack in
            let (token, user) = try await CommerceFixture.signUp(stack, "hooks@example.com")
            #expect(try await Self.credits(stack, token) == 3)
            let payload = try CommerceFixture.packPaid(eventID: "evt_refused", user: user)
            var tampered = payload
            tampered.replaceSubrange(tampered.startIndex..<tampered.index(after: tampered.startIndex), with: Data(" ".utf8))
            let now = Int(Date().timeIntervalSince1970)
            let attempts: [(String, Data, [String: String])] = [
                ("tampered body", tampered, ["Stripe-Signature": CommerceFixture.signature(payload)]),
                ("wrong secret", payload, ["Stripe-Signature": CommerceFixture.signature(payload, secret: "whsec_wrong")]),
                ("missing header", payload, [:]),
                ("301 s old", payload, ["Stripe-Signature": CommerceFixture.signature(payload, timestamp: now - 301)]),
                ("no v1", payload, ["Stripe-Signature": "t=\(now)"]),
            ]
            for (name, body, headers) in attempts {
                let reply = try await stack.http("POST", "/api/payments/webhook", rawBody: body,
                                                 headers: headers.merging(["Content-Type": "application/json"]) { $1 })
                #expect(reply.status == 400, "\(name): \(reply.text)")
                #expect(reply.errorCode == "WEBHOOK_SIGNATURE_INVALID", "\(name)")
            }
            #expect(try await Self.credits(stack, token) == 3)
            let inbox = try await stack.database(.commerce).query("SELECT event_id FROM webhook_inbox")
            #expect(inbox.isEmpty)
        }
    }

    @Test("a header with two v1 signatures, one valid, is accepted; the alias route works", arguments: [TestBackend.sqlite])
    func rolledSecret(backend: TestBackend) async throws {
        try await TestStack.with(backend, edge: true, overrides: CommerceFixture.overrides) { stack in
            let (token, user) = try await CommerceFixture.signUp(stack, "roll@example.com")
            let payload = try CommerceFixture.packPaid(eventID: "evt_roll", user: user)
            let now = Int(Date().timeIntervalSince1970)
            let header = "t=\(now),v1=\(CommerceFixture.hmac(payload, secret: "whsec_old", timestamp: now)),"
                + "v1=\(CommerceFixture.hmac(payload, secret: CommerceFixture.webhookSecret, timestamp: now))"
            let reply = try await stack.http("POST", "/api/webhooks/stripe", rawBody: payload, headers: ["Stripe-Signature": header])
            #expect(reply.status == 200, "\(reply.text)")
            #expect(reply.json["received"] as? Bool == true)
            #expect(reply.json["eventId"] as? String == "evt_roll")
            #expect(try await Self.credits(stack, token) == 53)
        }
    }

    @Test("one event delivered 5 times concurrently grants once", arguments: TestBackend.available)
    func concurrentDuplicates(backend: TestBackend) async throws {
        try await TestStack.with(backend, edge: true, overrides: CommerceFixture.overrides) { stack in
            let (token, user) = try await CommerceFixture.signUp(stack, "dupes@example.com")
            let payload = try CommerceFixture.packPaid(eventID: "evt_dup", user: user, pack: "pack_100")
            let header = CommerceFixture.signature(payload)
            let statuses = try await withThrowingTaskGroup(of: (Int, Bool).self) { group in
                for _ in 0..<5 {
                    group.addTask {
                        let reply = try await stack.http("POST", "/api/payments/webhook", rawBody: payload, headers: ["Stripe-Signature": header])
                        return (reply.status, reply.json["duplicate"] as? Bool ?? false)
                    }
                }
                return try await group.reduce(into: [(Int, Bool)]()) { $0.append($1) }
            }
            #expect(statuses.allSatisfy { $0.0 == 200 })
            #expect(statuses.filter { !$0.1 }.count == 1)
            #expect(try await Self.credits(stack, token) == 103)
            let history = try await stack.http("GET", "/api/payments/billing-history", token: token)
            #expect((history.json["payments"] as? [[String: Any]])?.count == 1)
            let sums = try await CommerceFixture.sums(stack, user: user, asset: "credits")
            #expect(sums.entries == 103 && sums.remaining == 103)
        }
    }

    @Test("out-of-order subscription events leave the latest state", arguments: TestBackend.available)
    func outOfOrder(backend: TestBackend) async throws {
        try await TestStack.with(backend, edge: true, overrides: CommerceFixture.overrides) { stack in
            let (token, user) = try await CommerceFixture.signUp(stack, "order@example.com")
            let now = Int(Date().timeIntervalSince1970)
            let end = now + 30 * 86_400
            func subscription(status: String, cancel: Bool) -> [String: Any] {
                ["id": "sub_order", "object": "subscription", "customer": "cus_order", "status": status, "cancel_at_period_end": cancel,
                 "metadata": ["user_id": user, "plan_id": "pro"],
                 "items": ["object": "list", "data": [["current_period_start": now, "current_period_end": end]]]]
            }
            let invoice: [String: Any] = [
                "id": "in_order", "object": "invoice", "customer": "cus_order", "amount_paid": 2999, "currency": "usd",
                "parent": ["subscription_details": ["subscription": "sub_order", "metadata": ["user_id": user, "plan_id": "pro"]]],
                "lines": ["data": [["period": ["start": now, "end": end]]]],
            ]
            // Newest first: the cancellation, then the payment, then the creation that preceded both.
            let events = [
                try CommerceFixture.event(id: "evt_o3", type: "customer.subscription.updated", created: now - 10,
                                          object: subscription(status: "active", cancel: true)),
                try CommerceFixture.event(id: "evt_o2", type: "invoice.paid", created: now - 20, object: invoice),
                try CommerceFixture.event(id: "evt_o1", type: "customer.subscription.created", created: now - 30,
                                          object: subscription(status: "incomplete", cancel: false)),
            ]
            for payload in events {
                let reply = try await stack.http("POST", "/api/payments/webhook", rawBody: payload,
                                                 headers: ["Stripe-Signature": CommerceFixture.signature(payload)])
                #expect(reply.status == 200, "\(reply.text)")
            }
            let current = try await stack.http("GET", "/api/user/subscription", token: token)
            let sub = try #require(current.json["subscription"] as? [String: Any])
            #expect(sub["planId"] as? String == "pro")
            #expect(sub["status"] as? String == "active")
            #expect(sub["cancelAtPeriodEnd"] as? Bool == true)
            let wallet = try await stack.http("GET", "/api/wallet", token: token)
            let balances = try #require(wallet.json["balances"] as? [[String: Any]])
            // Pro's 200 and the 3 free ones of the month the user had before subscribing.
            #expect(balances.first { $0["asset"] as? String == "images" }?["available"] as? Int == 203)

            // The end of the subscription arrives last and wins.
            let deleted = try CommerceFixture.event(id: "evt_o4", type: "customer.subscription.deleted", created: now,
                                                    object: subscription(status: "canceled", cancel: false))
            _ = try await stack.http("POST", "/api/payments/webhook", rawBody: deleted, headers: ["Stripe-Signature": CommerceFixture.signature(deleted)])
            let ended = try await stack.http("GET", "/api/user/subscription", token: token)
            #expect((ended.json["subscription"] as? [String: Any])?["planId"] as? String == "free")
            #expect((ended.json["subscription"] as? [String: Any])?["status"] as? String == "canceled")
        }
    }
}
