import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Stripe through its REST API: form-encoded POSTs with the secret key as a bearer token and an
/// `Idempotency-Key` on every POST, so a retried call never makes a second customer or session.
/// Checkout Sessions carry their prices inline (`price_data`), so plans and packs stay data in
/// the price list and need no objects made in Stripe's dashboard first.
struct StripeProvider: PaymentProvider {
    let name = "stripe"
    let apiBase: String
    let secretKey: String
    let session: URLSession

    init(apiBase: String, secretKey: String, timeout: TimeInterval = 20) {
        self.apiBase = apiBase.hasSuffix("/") ? String(apiBase.dropLast()) : apiBase
        self.secretKey = secretKey
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = timeout
        self.session = URLSession(configuration: configuration)
    }

    func createCustomer(userID: String, idempotencyKey: String) async throws -> String {
        let reply = try await post("/v1/customers", [("metadata[user_id]", userID)], idempotencyKey: idempotencyKey)
        return try string(reply, "id")
    }

    func createCheckout(_ checkout: CheckoutRequest, idempotencyKey: String) async throws -> CheckoutSession {
        var form: [(String, String)] = [
            ("mode", checkout.mode.rawValue),
            ("customer", checkout.customerID),
            ("client_reference_id", checkout.userID),
            ("success_url", checkout.successURL),
            ("cancel_url", checkout.cancelURL),
            ("line_items[0][quantity]", "1"),
            ("line_items[0][price_data][currency]", checkout.currency),
            ("line_items[0][price_data][unit_amount]", String(checkout.amountCents)),
            ("line_items[0][price_data][product_data][name]", checkout.name),
        ]
        if checkout.mode == .subscription {
            form.append(("line_items[0][price_data][recurring][interval]", checkout.interval ?? "month"))
            // Copied onto the subscription and its invoices, so renewals name the user and plan.
            for (key, value) in checkout.metadata { form.append(("subscription_data[metadata][\(key)]", value)) }
        }
        for (key, value) in checkout.metadata { form.append(("metadata[\(key)]", value)) }
        let reply = try await post("/v1/checkout/sessions", form, idempotencyKey: idempotencyKey)
        return CheckoutSession(id: try string(reply, "id"), url: try string(reply, "url"))
    }

    func cancelAtPeriodEnd(subscriptionID: String, idempotencyKey: String) async throws -> ProviderSubscription {
        let reply = try await post("/v1/subscriptions/\(Self.formEncode(subscriptionID))", [("cancel_at_period_end", "true")],
                                   idempotencyKey: idempotencyKey)
        return ProviderSubscription(
            id: try string(reply, "id"), status: (reply["status"] as? String) ?? "active",
            cancelAtPeriodEnd: (reply["cancel_at_period_end"] as? Bool) ?? true,
            currentPeriodEnd: StripeObject(reply).periodEnd)
    }

    private func post(_ path: String, _ form: [(String, String)], idempotencyKey: String) async throws -> [String: Any] {
        guard let url = URL(string: apiBase + path) else { throw PaymentProviderError(message: "bad API URL \(apiBase + path)") }
        var request = URLRequest(url: url)
        request.httpMethod = "POST"
        request.setValue("Bearer \(secretKey)", forHTTPHeaderField: "Authorization")
        request.setValue("application/x-www-form-urlencoded", forHTTPHeaderField: "Content-Type")
        request.setValue(idempotencyKey, forHTTPHeaderField: "Idempotency-Key")
        request.httpBody = Data(Self.formBody(form).utf8)
        let data: Data
        let response: URLResponse
        do {
            (data, response) = try await session.data(for: request)
        } catch {
            throw PaymentProviderError(message: "could not reach Stripe: \(error.localizedDescription)")
        }
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        let json = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:]
        guard (200..<300).contains(status) else {
            let message = ((json["error"] as? [String: Any])?["message"] as? String) ?? "request failed"
            throw PaymentProviderError(status: status, message: message)
        }
        return json
    }

    private func string(_ json: [String: Any], _ key: String) throws -> String {
        guard let value = json[key] as? String else { throw PaymentProviderError(message: "reply has no \(key)") }
        return value
    }

    static func formBody(_ form: [(String, String)]) -> String {
        form.map { "\(formEncode($0.0))=\(formEncode($0.1))" }.joined(separator: "&")
    }

    /// application/x-www-form-urlencoded: everything but unreserved characters is percent-encoded.
    static func formEncode(_ text: String) -> String {
        let allowed = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }
}
