import Foundation
import ServiceKit

/// The commerce service's settings, read from configuration.
///
/// - commerce.price-list (path, default the bundled list): plans, packs and costs as JSON
/// - commerce.payment-provider (`sandbox` | `stripe`, default `stripe` when commerce.stripe.secret-key
///   is set, else `sandbox`)
/// - commerce.stripe.secret-key (string): Stripe's secret API key
/// - commerce.stripe.api-base (URL, default https://api.stripe.com)
/// - commerce.webhook-secret (string): the signing secret of webhook events; required with Stripe.
///   The sandbox signs with it too, or with a random secret of its own when unset
/// - commerce.webhook-tolerance-seconds (int, default 300): how old a signed event may be
/// - public-url (URL, default http://127.0.0.1:8080): the edge as people reach it, for the
///   checkout page and the pages a checkout returns to
/// - commerce.success-url / commerce.cancel-url (URL, default public-url with ?checkout=success or
///   ?checkout=canceled): where a checkout sends the person when they paid or gave up
/// - commerce.hold-sweep-seconds (number, default 60): how often expired holds are released
public struct CommerceSettings: Sendable {
    public enum Provider: String, Sendable { case sandbox, stripe }

    public var priceListPath: String?
    public var provider: Provider = .sandbox
    public var stripeSecretKey: String?
    public var stripeAPIBase = "https://api.stripe.com"
    public var webhookSecret: String
    public var webhookTolerance: TimeInterval = 300
    public var publicURL = "http://127.0.0.1:8080"
    public var successURL: String
    public var cancelURL: String
    public var holdSweepInterval: Duration = .seconds(60)

    public init(_ c: Configuration) throws {
        priceListPath = c.string("commerce.price-list")
        stripeSecretKey = c.string("commerce.stripe.secret-key")
        let providerName = c.string("commerce.payment-provider", default: stripeSecretKey == nil ? "sandbox" : "stripe")
        guard let provider = Provider(rawValue: providerName) else {
            throw ConfigurationError.invalid(key: "commerce.payment-provider", value: providerName, expected: "sandbox or stripe")
        }
        self.provider = provider
        stripeAPIBase = c.string("commerce.stripe.api-base", default: stripeAPIBase)
        let secret = c.string("commerce.webhook-secret")
        if provider == .stripe {
            stripeSecretKey = try c.require("commerce.stripe.secret-key")
            webhookSecret = try c.require("commerce.webhook-secret")
        } else {
            webhookSecret = secret ?? "whsec_sandbox_" + SecureRandom.hex(24)
        }
        webhookTolerance = TimeInterval(try c.int("commerce.webhook-tolerance-seconds", default: 300, range: 1...86_400))
        publicURL = c.string("public-url", default: publicURL)
        while publicURL.hasSuffix("/") { publicURL.removeLast() }
        successURL = c.string("commerce.success-url", default: "\(publicURL)/?checkout=success")
        cancelURL = c.string("commerce.cancel-url", default: "\(publicURL)/?checkout=canceled")
        holdSweepInterval = try c.seconds("commerce.hold-sweep-seconds", default: 60)
    }
}
