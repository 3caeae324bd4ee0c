import AtelierTestSupport
import Foundation
import ServiceKit
import Testing

/// A new user's path through pricing, token packs and a subscription, offline, with the sandbox
/// checkout page clicked as a person would click it.
@Suite("Payments as a new user meets them")
struct PaymentFlowTests {
    /// Opens the checkout page a reply points at and clicks `action` on it.
    static func click(_ stack: TestStack, _ checkout: HTTPReply, _ action: String) async throws {
        #expect(checkout.status == 201, "\(checkout.text)")
        let link = try #require(checkout.json["checkoutUrl"] as? String)
        let url = try #require(URL(string: link))
        #expect(checkout.json["provider"] as? String == "sandbox")
        let page = try await stack.http("GET", url.path)
        #expect(page.status == 200)
        #expect(page.header("Content-Type")?.hasPrefix("text/html") == true)
        #expect(page.text.contains("value=\"pay\""))
        let done = try await stack.http("POST", url.path, rawBody: Data("action=\(action)".utf8),
                                        headers: ["Content-Type": "application/x-www-form-urlencoded"])
        #expect(done.status == 200, "\(done.text)")
        #expect(done.text.contains(action == "pay" ? "Paid" : "cancelled"))
    }

    static func balance(_ wallet: HTTPReply, _ asset: String) -> Int? {
        (wallet.json["balances"] as? [[String: Any]])?.first { $0["asset"] as? String == asset }?["available"] as? Int
    }

    @Test("sign up, 3 credits, buy 50, subscribe to Starter, cancel at period end", arguments: TestBackend.available)
    func newUser(backend: TestBackend) async throws {
        try await TestStack.with(backend, edge: true) { stack in
            let pricing = try await stack.http("GET", "/api/pricing")
            #expect(pricing.status == 200)
            let plans = try #require(pricing.json["plans"] as? [[String: Any]])
            #expect(plans.map { $0["id"] as? String } == ["free", "starter", "pro"])
            #expect(plans.map { $0["priceCents"] as? Int } == [0, 999, 2999])
            #expect((pricing.json["tokenPacks"] as? [[String: Any]])?.map { $0["priceCents"] as? Int } == [499, 899, 1999])

            let (token, _) = try await CommerceFixture.signUp(stack, "newcomer@example.com")
            let first = try await stack.http("GET", "/api/wallet", token: token)
            #expect(first.json["credits"] as? Int == 3)
            #expect(Self.balance(first, "images") == 3)

            // A cancelled checkout charges nothing.
            try await Self.click(stack, try await stack.http("POST", "/api/payments/purchase-tokens", json: ["packId": "pack_50"], token: token), "cancel")
            #expect(try await stack.http("GET", "/api/wallet", token: token).json["credits"] as? Int == 3)

            let purchase = try await stack.http("POST", "/api/payments/purchase-tokens", json: ["packId": "pack_50"], token: token)
            try await Self.click(stack, purchase, "pay")
            #expect(try await stack.http("GET", "/api/wallet", token: token).json["credits"] as? Int == 53)
            // Paying twice on one page pays once.
            let link = try #require(purchase.json["checkoutUrl"] as? String)
            let url = try #require(URL(string: link))
            _ = try await stack.http("POST", url.path, rawBody: Data("action=pay".utf8))
            #expect(try await stack.http("GET", "/api/wallet", token: token).json["credits"] as? Int == 53)

            try await Self.click(stack, try await stack.http("POST", "/api/payments/create-subscription", json: ["planId": "starter"], token: token), "pay")
            let subscription = try await stack.http("GET", "/api/user/subscription", token: token)
            let sub = try #require(subscription.json["subscription"] as? [String: Any])
            #expect(sub["planId"] as? String == "starter")
            #expect(sub["status"] as? String == "active")
            #expect(sub["cancelAtPeriodEnd"] as? Bool == false)
            #expect((subscription.json["entitlements"] as? [String: Any])?["maxCharacters"] as? Int == 5)
            let wallet = try await stack.http("GET", "/api/wallet", token: token)
            // Starter's 50, beside what is left of the month's 3 free ones from before.
            #expect(Self.balance(wallet, "images") == 53)
            #expect(Self.balance(wallet, "videos") == 5)
            #expect(wallet.json["credits"] as? Int == 53)
            // The edge mints the new plan into the user's principal at once.
            let me = try await stack.http("GET", "/api/auth/me", token: token)
            #expect((me.json["user"] as? [String: Any])?["subscriptionTier"] as? String == "starter")
            let again = try await stack.http("POST", "/api/payments/create-subscription", json: ["planId": "pro"], token: token)
            #expect(again.status == 409)
            #expect(again.errorCode == "ALREADY_SUBSCRIBED")

            let cancelled = try await stack.http("POST", "/api/payments/cancel-subscription", json: [:], token: token)
            #expect(cancelled.status == 200, "\(cancelled.text)")
            let ending = try #require(cancelled.json["subscription"] as? [String: Any])
            #expect(ending["planId"] as? String == "starter")
            #expect(ending["cancelAtPeriodEnd"] as? Bool == true)
            let periodEnd = try #require(ending["currentPeriodEnd"] as? String)
            let fractional = ISO8601DateFormatter()
            fractional.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
            let end = try #require(ISO8601DateFormatter().date(from: periodEnd) ?? fractional.date(from: periodEnd))
            #expect(end > Date().addingTimeInterval(27 * 86_400))
            let reread = try await stack.http("GET", "/api/user/subscription", token: token)
            #expect((reread.json["subscription"] as? [String: Any])?["cancelAtPeriodEnd"] as? Bool == true)

            let history = try await stack.http("GET", "/api/payments/billing-history", token: token)
            let payments = try #require(history.json["payments"] as? [[String: Any]])
            #expect(payments.map { $0["amountCents"] as? Int }.sorted { ($0 ?? 0) < ($1 ?? 0) } == [499, 999])
            #expect((history.json["pagination"] as? [String: Any])?["total"] as? Int == 2)

            let ledger = try await stack.http("GET", "/api/wallet/ledger?asset=credits&limit=10", token: token)
            let entries = try #require(ledger.json["entries"] as? [[String: Any]])
            #expect(entries.map { $0["source"] as? String } == ["pack", "signup"])
            #expect((ledger.json["pagination"] as? [String: Any])?["total"] as? Int == 2)

            let usage = try await stack.http("GET", "/api/user/usage-stats", token: token)
            #expect(usage.status == 200)
            #expect(usage.json["plan"] as? String == "starter")
            #expect(usage.json["period"] as? String == "current_month")
            #expect(usage.json["tokensUsed"] as? Int == 0)
        }
    }

    @Test("bad input names the field; another user's wallet is not found", arguments: [TestBackend.sqlite])
    func badInput(backend: TestBackend) async throws {
        try await TestStack.with(backend, edge: true) { stack in
            let (token, _) = try await CommerceFixture.signUp(stack, "picky@example.com")
            let (_, other) = try await CommerceFixture.signUp(stack, "other@example.com")
            let pack = try await stack.http("POST", "/api/payments/purchase-tokens", json: ["packId": "pack_7"], token: token)
            #expect(pack.status == 400)
            #expect((pack.json["error"] as? [String: Any])?["details"] as? [String: String] == ["field": "packId"])
            let plan = try await stack.http("POST", "/api/payments/create-subscription", json: ["planId": "free"], token: token)
            #expect(plan.status == 400)
            let cancel = try await stack.http("POST", "/api/payments/cancel-subscription", json: [:], token: token)
            #expect(cancel.status == 400)
            #expect(cancel.errorCode == "NO_SUBSCRIPTION")
            #expect(try await stack.http("GET", "/api/wallet?userId=\(other)", token: token).status == 404)
            #expect(try await stack.http("GET", "/api/wallet/ledger?limit=500", token: token).status == 400)
            #expect(try await stack.http("GET", "/api/wallet").status == 401)
            #expect(try await stack.http("GET", "/sandbox/checkout/cs_sandbox_nope").status == 404)
            #expect(try await stack.http("GET", "/sandbox/checkout/..%2F..").status == 404)
        }
    }
}

/// What a user reads about their spending after generation has held and settled credits.
@Suite("Usage statistics")
struct UsageStatsTests {
    @Test("settled holds count as generations and use up allowances", arguments: [TestBackend.sqlite])
    func usage(backend: TestBackend) async throws {
        try await TestStack.with(backend, edge: true) { stack in
            let (token, user) = try await CommerceFixture.signUp(stack, "usage@example.com")
            try await stack.withClient(.commerce) { client in
                let commerce = CommerceClient(wrapping: client)
                let metadata = try stack.serviceMetadata(name: "generation")
                for (index, operation) in ["image", "story"].enumerated() {
                    let hold = try await commerce.hold(.with {
                        $0.userID = user; $0.operation = operation; $0.jobID = "job-\(index)"; $0.idempotencyKey = "h\(index)"
                    }, metadata: metadata)
                    _ = try await commerce.settle(.with { $0.userID = user; $0.holdID = hold.hold.id; $0.idempotencyKey = "s\(index)" }, metadata: metadata)
                }
                // A 4 s video is one of the month's videos or 5 credits; a new Free user has neither.
                let video = await failure {
                    try await commerce.hold(.with { $0.userID = user; $0.operation = "video_4s"; $0.idempotencyKey = "hv" }, metadata: metadata)
                }
                #expect(video?.reason == "INSUFFICIENT_CREDITS")
            }
            let usage = try await stack.http("GET", "/api/user/usage-stats?period=current_month", token: token)
            #expect(usage.status == 200, "\(usage.text)")
            #expect(usage.json["generations"] as? Int == 2)
            let breakdown = try #require(usage.json["breakdown"] as? [[String: Any]])
            #expect(breakdown.map { $0["operation"] as? String } == ["image", "story"])
            let allowances = try #require(usage.json["allowances"] as? [[String: Any]])
            let images = try #require(allowances.first { $0["asset"] as? String == "images" })
            #expect(images["used"] as? Int == 1 && images["limit"] as? Int == 3 && images["remaining"] as? Int == 2)
            #expect(usage.json["monthlyStoriesUsed"] as? Int == 1)
            #expect(usage.json["monthlyStoriesLimit"] as? Int == 10)
            #expect(usage.json["tokensUsed"] as? Int == 0)
            let bad = try await stack.http("GET", "/api/user/usage-stats?period=fortnight", token: token)
            #expect(bad.status == 400)
        }
    }
}
