import AtelierProtos
import Foundation
import GRPCCore
import ServiceKit

extension CommerceRPC {
    public func createSubscription(request: Atelier_Commerce_V1_CreateSubscriptionRequest, context: ServerContext) async throws -> Atelier_Commerce_V1_CheckoutResponse {
        let user = try Caller.user().id
        guard let plan = prices.plan(request.planID), plan.priceCents > 0 else {
            let paid = prices.document.plans.filter { $0.priceCents > 0 }.map(\.id)
            throw ServiceError.invalid("planId", "planId must be one of \(paid.joined(separator: ", "))")
        }
        if let current = try await subscriptions.find(database, user: user), current.entitles(at: Date.databaseNow) {
            throw ServiceError(.alreadyExists, reason: "ALREADY_SUBSCRIBED",
                               "you already have the \(current.planID) plan until \(current.periodEnd.map { "\($0)" } ?? "it ends")")
        }
        return try await checkout(.init(
            mode: .subscription, userID: user, customerID: try await customer(for: user), itemID: plan.id, name: "\(plan.name) plan",
            amountCents: plan.priceCents, currency: plan.currency, interval: plan.interval,
            successURL: settings.successURL, cancelURL: settings.cancelURL))
    }

    public func purchaseTokens(request: Atelier_Commerce_V1_PurchaseTokensRequest, context: ServerContext) async throws -> Atelier_Commerce_V1_CheckoutResponse {
        let user = try Caller.user().id
        guard let pack = prices.pack(request.packID) else {
            throw ServiceError.invalid("packId", "packId must be one of \(prices.document.tokenPacks.map(\.id).joined(separator: ", "))")
        }
        return try await checkout(.init(
            mode: .payment, userID: user, customerID: try await customer(for: user), itemID: pack.id, name: pack.name,
            amountCents: pack.priceCents, currency: pack.currency, interval: nil,
            successURL: settings.successURL, cancelURL: settings.cancelURL))
    }

    public func cancelSubscription(request: Atelier_Commerce_V1_CancelSubscriptionRequest, context: ServerContext) async throws -> Atelier_Commerce_V1_SubscriptionResponse {
        let user = try Caller.user().id
        guard let current = try await subscriptions.find(database, user: user), current.entitles(at: Date.databaseNow) else {
            throw ServiceError(.failedPrecondition, reason: "NO_SUBSCRIPTION", "you have no active subscription to cancel")
        }
        if !current.cancelAtPeriodEnd {
            let cancelled = try await providerCall {
                try await provider.cancelAtPeriodEnd(subscriptionID: current.providerSubscriptionID,
                                                     idempotencyKey: "cancel-\(current.providerSubscriptionID)")
            }
            // The provider's webhook says the same; recording it now lets the reply show it. The
            // event time stays the current one, so the webhook is not taken for an older event.
            try await database.transaction { tx in
                try await subscriptions.apply(tx, user: user, .init(
                    providerSubscriptionID: current.providerSubscriptionID, cancelAtPeriodEnd: true,
                    eventAt: current.lastEventAt), now: Date.databaseNow)
            }
            logger.info("subscription cancelled at period end", metadata: ["user": "\(user)", "subscription": "\(cancelled.id)"])
        }
        return try await subscriptions.view(database, user: user, now: Date.databaseNow)
    }

    public func listBillingHistory(request: Atelier_Commerce_V1_ListBillingHistoryRequest, context: ServerContext) async throws -> Atelier_Commerce_V1_ListBillingHistoryResponse {
        let user = try Caller.user().id
        let found = try await PaymentRecords.page(database, user: user, page: try Page(limit: request.limit, offset: request.offset),
                                                  after: try PageToken(request.pageToken))
        return .with {
            $0.payments = found.items.items
            $0.pagination = found.items.pagination
            $0.nextPageToken = found.next
        }
    }

    public func handleWebhook(request: Atelier_Commerce_V1_HandleWebhookRequest, context: ServerContext) async throws -> Atelier_Commerce_V1_HandleWebhookResponse {
        _ = try Caller.service()
        return try await webhooks.handle(payload: Array(request.payload), signature: request.signature)
    }

    public func getSandboxCheckout(request: Atelier_Commerce_V1_GetSandboxCheckoutRequest, context: ServerContext) async throws -> Atelier_Commerce_V1_SandboxCheckout {
        _ = try Caller.service()
        guard let sandbox else { throw ServiceError.notFound("checkout session") }
        return try await sandbox.checkout(request.sessionID)
    }

    public func completeSandboxCheckout(request: Atelier_Commerce_V1_CompleteSandboxCheckoutRequest, context: ServerContext) async throws -> Atelier_Commerce_V1_SandboxCheckout {
        _ = try Caller.service()
        guard let sandbox else { throw ServiceError.notFound("checkout session") }
        return try await sandbox.complete(request.sessionID, pay: request.pay)
    }

    private func checkout(_ request: CheckoutRequest) async throws -> Atelier_Commerce_V1_CheckoutResponse {
        // A fresh key per checkout: two clicks are two sessions, and only a paid one moves money.
        let session = try await providerCall { try await provider.createCheckout(request, idempotencyKey: SecureRandom.id(prefix: "checkout")) }
        logger.info("checkout started", metadata: ["user": "\(request.userID)", "item": "\(request.itemID)", "session": "\(session.id)"])
        return .with {
            $0.sessionID = session.id
            $0.checkoutURL = session.url
            $0.provider = provider.name
        }
    }

    /// The user's customer at the provider, made on first need. The key is per user, so two
    /// concurrent first checkouts make one customer at Stripe.
    private func customer(for user: String) async throws -> String {
        if let known = try await PaymentRecords.customer(database, user: user) { return known }
        let created = try await providerCall { try await provider.createCustomer(userID: user, idempotencyKey: "customer-\(user)") }
        try await PaymentRecords.saveCustomer(database, user: user, provider: provider.name, customer: created)
        return try await PaymentRecords.customer(database, user: user) ?? created
    }

    /// A provider's refusal reads as 400 naming the provider's reason; an outage as 503.
    func providerCall<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as PaymentProviderError {
            logger.warning("payment provider call failed", metadata: ["error": "\(error)"])
            if let status = error.status, (400..<500).contains(status) {
                throw ServiceError(.failedPrecondition, reason: "PAYMENT_PROVIDER_REFUSED", "the payment provider refused: \(error.message)")
            }
            throw ServiceError(.unavailable, reason: "PAYMENT_PROVIDER_UNAVAILABLE", "the payment provider cannot be reached; try again")
        }
    }
}
