import GRPCCore
import Hummingbird
import ServiceKit

/// An error the edge reports to a client, always as
/// `{"error": {"code", "message", "details", "retryAfter"}}` (DESIGN.md, "The wire").
struct EdgeError: Error, Sendable, Equatable {
    let status: HTTPResponse.Status
    let code: String
    let message: String
    var field: String? = nil
    var retryAfter: Int? = nil

    static func invalidField(_ field: String, _ problem: String) -> EdgeError {
        EdgeError(status: .badRequest, code: "VALIDATION_FAILED", message: "\(field) \(problem)", field: field)
    }

    static func unknownField(_ field: String) -> EdgeError {
        EdgeError(status: .badRequest, code: "UNKNOWN_FIELD", message: "unknown field '\(field)'", field: field)
    }

    static func malformedJSON(_ problem: String) -> EdgeError {
        EdgeError(status: .badRequest, code: "MALFORMED_JSON", message: "request body is not valid JSON: \(problem)")
    }

    static let unauthenticated = EdgeError(
        status: .unauthorized, code: "UNAUTHENTICATED", message: "sign in: send 'Authorization: Bearer <session token>'")

    static func payloadTooLarge(limit: Int) -> EdgeError {
        EdgeError(status: .contentTooLarge, code: "PAYLOAD_TOO_LARGE", message: "request body is larger than \(limit) bytes")
    }

    static func `internal`(_ message: String) -> EdgeError {
        EdgeError(status: .internalServerError, code: "INTERNAL", message: message)
    }

    /// A service's error as the client sees it. Messages of internal failures stay in the log.
    init(_ error: RPCError) {
        let status = HTTPStatusMapping.status(for: error.code)
        self.status = HTTPResponse.Status(code: status)
        let details = ServiceError(received: error)
        self.code = details.reason.isEmpty ? HTTPStatusMapping.name(for: error.code) : details.reason
        switch error.code {
        case .unavailable: self.message = "a service is unavailable; try again shortly"
        case .deadlineExceeded: self.message = "a service took too long to answer"
        case _ where status >= 500 && status != 501 && status != 503: self.message = "internal error"
        default: self.message = error.message
        }
        self.field = details.field
        self.retryAfter = details.retryAfterSeconds
    }

    init(status: HTTPResponse.Status, code: String, message: String, field: String? = nil, retryAfter: Int? = nil) {
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.retryAfter = retryAfter
    }

    var body: JSONValue {
        .object([("error", .object([
            ("code", .string(code)),
            ("message", .string(message)),
            ("details", .object(field.map { [("field", .string($0))] } ?? [])),
            ("retryAfter", retryAfter.map { .number(String($0)) } ?? .null),
        ]))])
    }

    var response: Response {
        var headers: HTTPFields = [.contentType: "application/json; charset=utf-8"]
        if let retryAfter { headers[.retryAfter] = String(retryAfter) }
        if status == .unauthorized { headers[.wwwAuthenticate] = "Bearer" }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body.serialized())))
    }
}
