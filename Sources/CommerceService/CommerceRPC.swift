import AtelierProtos
import Foundation
import GRPCCore
import Logging
import ServiceKit

/// The commerce service's RPCs. Each concern has its file: `CommerceRPC+Ledger` (wallets and
/// movements), `CommerceRPC+Payments` (checkouts, subscriptions, webhooks, the sandbox page),
/// `CommerceRPC+Usage` (usage statistics).
public final class CommerceRPC: Atelier_Commerce_V1_CommerceService.SimpleServiceProtocol, Sendable {
    let database: any Database, settings: CommerceSettings, prices: PriceList, clock: ServiceClock
    let subscriptions: SubscriptionStore, upkeep: WalletUpkeep, ledger: Ledger, webhooks: WebhookProcessor
    /// Who takes payments; the sandbox when it is the local one.
    let provider: any PaymentProvider, sandbox: SandboxProvider?
    let logger: Logger

    init(database: any Database, settings: CommerceSettings, prices: PriceList, clock: ServiceClock, logger: Logger) {
        self.database = database
        self.settings = settings
        self.prices = prices
        self.clock = clock
        self.subscriptions = SubscriptionStore(prices: prices)
        self.upkeep = WalletUpkeep(prices: prices, subscriptions: subscriptions)
        self.ledger = Ledger(database: database, prices: prices, upkeep: upkeep, clock: clock)
        let webhooks = WebhookProcessor(
            database: database, prices: prices, upkeep: upkeep, subscriptions: subscriptions,
            secret: settings.webhookSecret, tolerance: settings.webhookTolerance, logger: logger)
        self.webhooks = webhooks
        switch settings.provider {
        case .stripe:
            // '!' is fine: CommerceSettings requires the key when the provider is Stripe.
            provider = StripeProvider(apiBase: settings.stripeAPIBase, secretKey: settings.stripeSecretKey!)
            sandbox = nil
        case .sandbox:
            let sandbox = SandboxProvider(
                database: database, publicURL: settings.publicURL, secret: settings.webhookSecret,
                deliver: { payload, signature in _ = try await webhooks.handle(payload: payload, signature: signature) })
            provider = sandbox
            self.sandbox = sandbox
        }
        self.logger = logger
    }

    public func getPricing(request: Atelier_Commerce_V1_GetPricingRequest, context: ServerContext) async throws -> Atelier_Commerce_V1_GetPricingResponse {
        guard Caller.principal != nil else { throw ServiceError.unauthenticated("this call needs a principal") }
        return prices.document
    }

    public func getEntitlements(request: Atelier_Commerce_V1_GetEntitlementsRequest, context: ServerContext) async throws -> Atelier_Commerce_V1_GetEntitlementsResponse {
        let user = try subject(request.userID)
        let plan = try await subscriptions.effectivePlan(database, user: user, now: clock.now())
        return .with { $0.entitlements = plan.entitlements }
    }

    public func getSubscription(request: Atelier_Commerce_V1_GetSubscriptionRequest, context: ServerContext) async throws -> Atelier_Commerce_V1_SubscriptionResponse {
        try await subscriptions.view(database, user: try Caller.user().id, now: clock.now())
    }

    /// Whose wallet a call is about: a user's own (asking for another's is a 404, as if it did
    /// not exist), or for a service the user it names.
    func subject(_ requested: String) throws -> String {
        guard let principal = Caller.principal else { throw ServiceError.unauthenticated("this call needs a principal") }
        if principal.kind == .user {
            guard requested.isEmpty || requested == principal.subject else { throw ServiceError.notFound("wallet") }
            return principal.subject
        }
        guard !requested.isEmpty else { throw ServiceError.invalid("userId", "userId is required") }
        guard requested.count <= 100 else { throw ServiceError.invalid("userId", "userId is at most 100 characters") }
        return requested
    }
}
