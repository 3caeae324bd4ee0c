import AtelierProtos
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Hummingbird
import ServiceKit

/// The local payment sandbox's checkout page: what the sandbox provider's checkout URL opens.
/// A person sees what they are buying and clicks Pay or Cancel; commerce then sends the webhook
/// events Stripe would. The unguessable session id in the URL is the only key, as with Stripe's
/// hosted checkout. With Stripe configured, commerce knows no sandbox sessions and this is a 404.
struct SandboxCheckoutPage: Sendable {
    static let path = "/sandbox/checkout/{session}"

    let upstreams: Upstreams
    let sessions: SessionResolver

    func show(_ context: some RequestContext) async throws -> Response {
        let id = try sessionID(context)
        let checkout = try await upstreams.commerce.call(CommerceMethods.GetSandboxCheckout.self, .with { $0.sessionID = id }, metadata: try upstreams.asEdge())
        return html(page(checkout))
    }

    /// The form's choice: `action=pay` or `action=cancel`. Answers with a redirect to the page,
    /// which then shows the outcome, so reloading it never submits twice.
    func choose(_ request: Request, _ context: some RequestContext) async throws -> Response {
        let id = try sessionID(context)
        let body = try await request.body.collect(upTo: 4096)
        let form = String(decoding: body.readableBytesView, as: UTF8.self)
        let action = form.split(separator: "&").compactMap { pair -> String? in
            let parts = pair.split(separator: "=", maxSplits: 1)
            return parts.count == 2 && parts[0] == "action" ? String(parts[1]) : nil
        }.first
        guard let action, action == "pay" || action == "cancel" else {
            throw EdgeError.invalidField("action", "must be pay or cancel")
        }
        let checkout = try await upstreams.commerce.call(CommerceMethods.CompleteSandboxCheckout.self, .with { $0.sessionID = id; $0.pay = action == "pay" },
            metadata: try upstreams.asEdge())
        if !checkout.userID.isEmpty { sessions.userChanged(checkout.userID) }
        return Response(status: .seeOther, headers: [.location: "/sandbox/checkout/\(id)"])
    }

    private func sessionID(_ context: some RequestContext) throws -> String {
        let id = context.parameters.get("session") ?? ""
        guard !id.isEmpty, id.count <= 100, id.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }) else {
            throw EdgeError(status: .notFound, code: "NOT_FOUND", message: "checkout session not found")
        }
        return id
    }

    private func page(_ checkout: Atelier_Commerce_V1_SandboxCheckout) -> String {
        let price = String(format: "%d.%02d %@", checkout.amountCents / 100, checkout.amountCents % 100, checkout.currency.uppercased())
        let what = escape(checkout.description_p) + (checkout.mode == "subscription" ? " (monthly)" : "")
        let body: String
        switch checkout.status {
        case "open":
            body = """
                <p>\(what)</p><p><strong>\(price)</strong></p>
                <form method="post"><button name="action" value="pay">Pay \(price)</button>
                <button name="action" value="cancel">Cancel</button></form>
                """
        case "complete":
            body = "<p>Paid: \(what), \(price).</p><p><a href=\"\(escape(checkout.returnURL))\">Continue</a></p>"
        default:
            body = "<p>Checkout cancelled; nothing was charged.</p><p><a href=\"\(escape(checkout.returnURL))\">Back</a></p>"
        }
        return """
            <!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sandbox checkout</title></head>
            <body><h1>Sandbox checkout</h1><p>No real money moves here.</p>\(body)</body></html>
            """
    }

    private func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    private func html(_ text: String) -> Response {
        Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}
