import AtelierProtos
import Foundation
import HTTPTypes
import Hummingbird
import ServiceKit


/// Replicate's webhook at `/api/webhooks/replicate`: the signature covers the exact body, so the
/// edge passes the body and the three `webhook-*` headers to generation untouched, and
/// generation checks them and records the prediction once per `webhook-id`. Replicate wants a
/// 2xx quickly, and nothing here waits on more than that one call.
struct ReplicateWebhookIngress: Sendable {
    static let path = "/api/webhooks/replicate"
    // '!' is fine on these: valid literal header names.
    static let idHeader = HTTPField.Name("webhook-id")!
    static let timestampHeader = HTTPField.Name("webhook-timestamp")!
    static let signatureHeader = HTTPField.Name("webhook-signature")!

    let upstreams: Upstreams
    let maxBodyBytes: Int

    func handle(_ request: Request) async throws -> Response {
        let body = try await Transcoder.readBody(request, limit: maxBodyBytes)
        let reply = try await upstreams.generation.call(GenerationMethods.HandleReplicateWebhook.self, .with {
            $0.payload = Data(body)
            $0.webhookID = request.headers[Self.idHeader] ?? ""
            $0.webhookTimestamp = request.headers[Self.timestampHeader] ?? ""
            $0.webhookSignature = request.headers[Self.signatureHeader] ?? ""
        }, metadata: try upstreams.asEdge())
        return Transcoder.json(.object([
            ("received", .bool(reply.received)), ("predictionId", .string(reply.predictionID)), ("duplicate", .bool(reply.duplicate)),
        ]), status: 200)
    }

    static var openAPIPaths: [(String, JSONValue)] {
        let acknowledgement: JSONValue = .object([
            ("type", .string("object")),
            ("required", .array([.string("received"), .string("predictionId"), .string("duplicate")])),
            ("properties", .object([
                ("received", .object([("type", .string("boolean"))])),
                ("predictionId", .object([("type", .string("string"))])),
                ("duplicate", .object([("type", .string("boolean"))])),
            ])),
        ])
        let header: (String) -> JSONValue = { name in
            .object([("name", .string(name)), ("in", .string("header")), ("required", .bool(false)), ("schema", .object([("type", .string("string"))]))])
        }
        return [(path, .object([("post", .object([
            ("operationId", .string("ReplicateWebhook")),
            ("tags", .array([.string("GenerationService")])),
            ("summary", .string("A finished Replicate prediction, signed with the webhook-* headers")),
            ("parameters", .array(["webhook-id", "webhook-timestamp", "webhook-signature"].map(header))),
            ("requestBody", .object([("content", .object([("application/json", .object([("schema", .object([("type", .string("object"))]))]))]))])),
            ("responses", .object([
                ("200", .object([("description", .string("Received")),
                                 ("content", .object([("application/json", .object([("schema", acknowledgement)]))]))])),
                ("400", OpenAPIDocument.errorResponse("Signature or body invalid")),
                ("413", OpenAPIDocument.errorResponse("Body too large")),
                ("503", OpenAPIDocument.errorResponse("A service is unavailable")),
            ])),
        ]))]))]
    }
}
