import AtelierTestSupport
import Foundation
import ServiceKit
import Testing

/// The Stripe adapter against a local server that speaks Stripe's documented protocol.
@Suite("Stripe adapter")
struct StripeProviderTests {
    static func overrides(_ fake: FakeStripe) -> [String: String] {
        ["commerce.stripe.secret-key": FakeStripe.secretKey, "commerce.stripe.api-base": "http://127.0.0.1:\(fake.port)",
         "commerce.webhook-secret": CommerceFixture.webhookSecret, "public-url": "https://app.example.com"]
    }

    @Test("customers, checkouts in both modes and cancel at period end, form-encoded with idempotency keys", arguments: [TestBackend.sqlite])
    func stripe(backend: TestBackend) async throws {
        let fake = try await FakeStripe.start()
        defer { Task { await fake.stop() } }
        try await TestStack.with(backend, edge: true, overrides: Self.overrides(fake)) { stack in
            let (token, user) = try await CommerceFixture.signUp(stack, "stripe@example.com")
            let pack = try await stack.http("POST", "/api/payments/purchase-tokens", json: ["packId": "pack_100"], token: token)
            #expect(pack.status == 201, "\(pack.text)")
            #expect(pack.json["provider"] as? String == "stripe")
            #expect(pack.json["checkoutUrl"] as? String == "https://checkout.stripe.com/c/pay/cs_test_fakepayment")
            #expect(pack.json["sessionId"] as? String == "cs_test_fakepayment")

            let plan = try await stack.http("POST", "/api/payments/create-subscription", json: ["planId": "pro"], token: token)
            #expect(plan.status == 201, "\(plan.text)")

            let calls = fake.calls
            #expect(calls.map(\.path) == ["/v1/customers", "/v1/checkout/sessions", "/v1/checkout/sessions"])
            #expect(calls.allSatisfy { $0.idempotencyKey?.isEmpty == false })
            #expect(Set(calls.compactMap(\.idempotencyKey)).count == 3)
            #expect(calls[0].form["metadata[user_id]"] == user)
            let payment = calls[1].form
            #expect(payment["mode"] == "payment")
            #expect(payment["customer"] == "cus_fake123")
            #expect(payment["line_items[0][price_data][unit_amount]"] == "899")
            #expect(payment["line_items[0][price_data][currency]"] == "usd")
            #expect(payment["line_items[0][quantity]"] == "1")
            #expect(payment["metadata[pack_id]"] == "pack_100")
            #expect(payment["metadata[user_id]"] == user)
            #expect(payment["success_url"] == "https://app.example.com/?checkout=success")
            let subscription = calls[2].form
            #expect(subscription["mode"] == "subscription")
            #expect(subscription["line_items[0][price_data][recurring][interval]"] == "month")
            #expect(subscription["line_items[0][price_data][unit_amount]"] == "2999")
            #expect(subscription["subscription_data[metadata][plan_id]"] == "pro")
            #expect(subscription["subscription_data[metadata][user_id]"] == user)

            // Stripe reports the paid subscription by webhook; then it can be cancelled.
            let now = Int(Date().timeIntervalSince1970)
            let completed = try CommerceFixture.event(id: "evt_s1", type: "checkout.session.completed", object: [
                "id": "cs_test_fakesubscription", "object": "checkout.session", "mode": "subscription", "customer": "cus_fake123",
                "subscription": "sub_fake123", "payment_status": "paid", "metadata": ["user_id": user, "plan_id": "pro"],
            ])
            let paid = try CommerceFixture.event(id: "evt_s2", type: "invoice.paid", object: [
                "id": "in_fake1", "object": "invoice", "customer": "cus_fake123", "amount_paid": 2999, "currency": "usd",
                "subscription": "sub_fake123", "subscription_details": ["metadata": ["user_id": user, "plan_id": "pro"]],
                "lines": ["data": [["period": ["start": now, "end": now + 30 * 86_400]]]],
            ])
            for event in [completed, paid] {
                let reply = try await stack.http("POST", "/api/payments/webhook", rawBody: event,
                                                 headers: ["Stripe-Signature": CommerceFixture.signature(event)])
                #expect(reply.status == 200, "\(reply.text)")
            }
            let cancel = try await stack.http("POST", "/api/payments/cancel-subscription", json: [:], token: token)
            #expect(cancel.status == 200, "\(cancel.text)")
            #expect((cancel.json["subscription"] as? [String: Any])?["cancelAtPeriodEnd"] as? Bool == true)
            let last = try #require(fake.calls.last)
            #expect(last.path == "/v1/subscriptions/sub_fake123")
            #expect(last.form == ["cancel_at_period_end": "true"])
            #expect(last.idempotencyKey == "cancel-sub_fake123")
        }
    }

    @Test("Stripe's refusals read as 400 and its outages as 503", arguments: [TestBackend.sqlite])
    func failures(backend: TestBackend) async throws {
        let fake = try await FakeStripe.start()
        defer { Task { await fake.stop() } }
        var wrongKey = Self.overrides(fake)
        wrongKey["commerce.stripe.secret-key"] = "sk_test_wrong"
        try await TestStack.with(backend, edge: true, overrides: wrongKey) { stack in
            let (token, _) = try await CommerceFixture.signUp(stack, "refused@example.com")
            let refused = try await stack.http("POST", "/api/payments/purchase-tokens", json: ["packId": "pack_50"], token: token)
            #expect(refused.status == 400)
            #expect(refused.errorCode == "PAYMENT_PROVIDER_REFUSED")
        }
        var unreachable = Self.overrides(fake)
        unreachable["commerce.stripe.api-base"] = "http://127.0.0.1:1"
        try await TestStack.with(backend, edge: true, overrides: unreachable) { stack in
            let (token, _) = try await CommerceFixture.signUp(stack, "outage@example.com")
            let down = try await stack.http("POST", "/api/payments/purchase-tokens", json: ["packId": "pack_50"], token: token)
            #expect(down.status == 503)
            #expect(down.errorCode == "PAYMENT_PROVIDER_UNAVAILABLE")
        }
    }
}
