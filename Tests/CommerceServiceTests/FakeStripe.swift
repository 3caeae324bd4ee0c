import AtelierTestSupport
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Synchronization

/// A local stand-in for api.stripe.com that checks what Stripe checks (method, path, bearer
/// key, form encoding, Idempotency-Key) and answers with the shapes of Stripe's API reference.
/// Requests it does not like get Stripe's error shape with status 400 or 401.
final class FakeStripe: Sendable {
    struct Call: Sendable {
        let method: String
        let path: String
        let form: [String: String]
        let idempotencyKey: String?
    }

    final class CallLog: Sendable {
        let calls = Mutex<[Call]>([])
        func append(_ call: Call) { calls.withLock { $0.append(call) } }
    }

    static let secretKey = "sk_test_fake_4eC39HqLyjWDarjtT1zdp7dc"
    private let log: CallLog
    private let server: LocalHTTPServer

    var calls: [Call] { log.calls.withLock { $0 } }

    static func start() async throws -> FakeStripe {
        let recorded = CallLog()
        let router = Router()
        router.post("/v1/customers") { request, _ in try await handle(request, "/v1/customers", recorded) }
        router.post("/v1/checkout/sessions") { request, _ in try await handle(request, "/v1/checkout/sessions", recorded) }
        router.post("/v1/subscriptions/{id}") { request, context in
            try await handle(request, "/v1/subscriptions/\(context.parameters.get("id") ?? "")", recorded)
        }
        return FakeStripe(log: recorded, server: await LocalHTTPServer.start(router, label: "fake-stripe"))
    }

    private init(log: CallLog, server: LocalHTTPServer) {
        self.log = log
        self.server = server
    }

    var port: Int { server.port }

    func stop() async { await server.stop() }

    private static func handle(_ request: Request, _ path: String, _ recorded: CallLog) async throws -> Response {
        guard request.headers[.authorization] == "Bearer \(secretKey)" else {
            return error(401, "invalid_request_error", "Invalid API Key provided")
        }
        guard request.headers[.contentType] == "application/x-www-form-urlencoded" else {
            return error(400, "invalid_request_error", "Invalid request: body must be form-encoded")
        }
        let body = try await request.body.collect(upTo: 1 << 16)
        var form: [String: String] = [:]
        for pair in String(decoding: body.readableBytesView, as: UTF8.self).split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1).map { String($0).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? "" }
            guard parts.count == 2 else { return error(400, "invalid_request_error", "Malformed form field \(pair)") }
            form[parts[0]] = parts[1]
        }
        let key = request.headers[HTTPField.Name("Idempotency-Key")!]
        recorded.append(Call(method: "POST", path: path, form: form, idempotencyKey: key))
        guard key?.isEmpty == false else { return error(400, "idempotency_error", "Idempotency-Key is required by this fake") }

        let now = Int(Date().timeIntervalSince1970)
        switch path {
        case "/v1/customers":
            return json(["id": "cus_fake123", "object": "customer", "created": now, "livemode": false,
                         "metadata": ["user_id": form["metadata[user_id]"] ?? ""]])
        case "/v1/checkout/sessions":
            guard let mode = form["mode"], ["payment", "subscription"].contains(mode), form["line_items[0][price_data][unit_amount]"] != nil,
                  form["success_url"] != nil, form["cancel_url"] != nil
            else { return error(400, "invalid_request_error", "Missing required param: line_items or mode") }
            if form["line_items[0][price_data][product_data][name]"] == "Declined" {
                return error(400, "invalid_request_error", "This product cannot be sold")
            }
            return json(["id": "cs_test_fake\(mode)", "object": "checkout.session", "mode": mode, "status": "open",
                         "customer": form["customer"] ?? "", "url": "https://checkout.stripe.com/c/pay/cs_test_fake\(mode)",
                         "client_reference_id": form["client_reference_id"] ?? "", "livemode": false])
        default:
            let id = String(path.dropFirst("/v1/subscriptions/".count))
            guard id == "sub_fake123" else { return error(404, "invalid_request_error", "No such subscription: '\(id)'") }
            return json(["id": id, "object": "subscription", "status": "active", "customer": "cus_fake123",
                         "cancel_at_period_end": form["cancel_at_period_end"] == "true",
                         "items": ["object": "list", "data": [["current_period_start": now, "current_period_end": now + 30 * 86_400]]]])
        }
    }

    private static func json(_ object: [String: Any], status: HTTPResponse.Status = .ok) -> Response {
        let data = (try? JSONSerialization.data(withJSONObject: object)) ?? Data()
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    private static func error(_ status: Int, _ type: String, _ message: String) -> Response {
        json(["error": ["type": type, "message": message]], status: .init(code: status))
    }
}
