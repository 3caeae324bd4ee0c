import Foundation

/// A payment provider as commerce uses it: customers, hosted checkout pages, and cancelling a
/// subscription at the end of its period. What happens afterwards (payment, renewal, failure)
/// comes back as signed webhook events in Stripe's format, whichever provider is in use.
protocol PaymentProvider: Sendable {
    /// "stripe" or "sandbox".
    var name: String { get }
    func createCustomer(userID: String, idempotencyKey: String) async throws -> String
    func createCheckout(_ checkout: CheckoutRequest, idempotencyKey: String) async throws -> CheckoutSession
    func cancelAtPeriodEnd(subscriptionID: String, idempotencyKey: String) async throws -> ProviderSubscription
}

struct CheckoutRequest: Sendable {
    enum Mode: String, Sendable {
        /// A one-time payment: a token pack.
        case payment
        /// A recurring plan.
        case subscription
    }

    var mode: Mode
    var userID, customerID: String
    /// The plan or pack id, also sent as metadata so the webhook knows what was bought.
    var itemID: String
    var name: String
    var amountCents: Int64
    var currency: String
    /// "month" for subscriptions.
    var interval: String?
    var successURL, cancelURL: String

    /// What the provider stores with the checkout (and, for subscriptions, with the subscription
    /// and its invoices), so every event can be traced to a user and an item.
    var metadata: [(String, String)] {
        [("user_id", userID), (mode == .payment ? "pack_id" : "plan_id", itemID)]
    }
}

struct CheckoutSession: Sendable {
    var id: String
    var url: String
}

struct ProviderSubscription: Sendable {
    var id: String
    var status: String
    var cancelAtPeriodEnd: Bool
    var currentPeriodEnd: Date?
}

/// The provider refused a request or could not be reached.
struct PaymentProviderError: Error, CustomStringConvertible {
    var status: Int?
    var message: String
    var description: String { "payment provider: \(message)" + (status.map { " (HTTP \($0))" } ?? "") }
}
