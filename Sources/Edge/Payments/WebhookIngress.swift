import AtelierProtos
import Foundation
import HTTPTypes
import GRPCCore
import GRPCNIOTransportHTTP2
import Hummingbird
import ServiceKit

/// Payment webhooks, which a transcoding rule cannot express: the signature covers the exact
/// bytes of the body, so the edge passes the raw body and the `Stripe-Signature` header to
/// commerce untouched, and commerce checks and applies the event.
struct WebhookIngress: Sendable {
    static let paths = ["/api/payments/webhook", "/api/webhooks/stripe"]
    static let signatureHeader = HTTPField.Name("Stripe-Signature")!  // '!' is fine: a valid literal name.

    let upstreams: Upstreams
    let sessions: SessionResolver
    let maxBodyBytes: Int

    func handle(_ request: Request) async throws -> Response {
        let body = try await Transcoder.readBody(request, limit: maxBodyBytes)
        let reply = try await upstreams.commerce.call(CommerceMethods.HandleWebhook.self, .with {
                $0.payload = Data(body)
                $0.signature = request.headers[Self.signatureHeader] ?? ""
            },
            metadata: try upstreams.asEdge())
        // The event may have changed the user's plan: their next request gets fresh entitlements.
        if !reply.userID.isEmpty { sessions.userChanged(reply.userID) }
        return Transcoder.json(.object([
            ("received", .bool(reply.received)), ("eventId", .string(reply.eventID)), ("duplicate", .bool(reply.duplicate)),
        ]), status: 200)
    }

    /// The webhook routes in the OpenAPI document: a JSON event in, an acknowledgement out.
    static var openAPIPaths: [(String, JSONValue)] {
        let object: JSONValue = .object([("type", .string("object"))])
        let acknowledgement: JSONValue = .object([
            ("type", .string("object")),
            ("required", .array([.string("received"), .string("eventId"), .string("duplicate")])),
            ("properties", .object([
                ("received", .object([("type", .string("boolean"))])),
                ("eventId", .object([("type", .string("string"))])),
                ("duplicate", .object([("type", .string("boolean"))])),
            ])),
        ])
        return paths.enumerated().map { index, path in
            (path, .object([("post", .object([
                ("operationId", .string(index == 0 ? "PaymentWebhook" : "StripeWebhook")),
                ("tags", .array([.string("CommerceService")])),
                ("summary", .string("A payment provider's event, signed with the Stripe-Signature header")),
                ("parameters", .array([.object([
                    ("name", .string("Stripe-Signature")), ("in", .string("header")), ("required", .bool(false)),
                    ("schema", .object([("type", .string("string"))])),
                ])])),
                ("requestBody", .object([("content", .object([("application/json", .object([("schema", object)]))]))])),
                ("responses", .object([
                    ("200", .object([("description", .string("Received")),
                                     ("content", .object([("application/json", .object([("schema", acknowledgement)]))]))])),
                    ("400", OpenAPIDocument.errorResponse("Signature or event invalid")),
                    ("413", OpenAPIDocument.errorResponse("Body too large")),
                    ("503", OpenAPIDocument.errorResponse("A service is unavailable")),
                    ("504", OpenAPIDocument.errorResponse("A service took too long")),
                ])),
            ]))]))
        }
    }
}
