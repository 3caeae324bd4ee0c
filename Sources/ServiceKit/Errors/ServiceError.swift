import GRPCCore

/// An error a service means to show its caller: a gRPC code, a stable reason the apps can switch
/// on (`EMAIL_TAKEN`), a human message, and optionally the field at fault and when to retry.
/// The reason, field and retry hint travel as metadata so any gRPC client can read them, and
/// the edge turns them into `{"error": {"code", "message", "details", "retryAfter"}}`.
public struct ServiceError: Error, RPCErrorConvertible, Equatable, CustomStringConvertible {
    public static let reasonKey = "atelier-error-reason"
    public static let fieldKey = "atelier-error-field"
    public static let retryAfterKey = "retry-after"

    public var code: RPCError.Code
    public var reason: String
    public var message: String
    public var field: String?
    public var retryAfterSeconds: Int?

    public init(_ code: RPCError.Code, reason: String, _ message: String, field: String? = nil, retryAfterSeconds: Int? = nil) {
        self.code = code
        self.reason = reason
        self.message = message
        self.field = field
        self.retryAfterSeconds = retryAfterSeconds
    }

    public var description: String { "\(reason): \(message)" }

    public var rpcErrorCode: RPCError.Code { code }
    public var rpcErrorMessage: String { message }
    public var rpcErrorMetadata: Metadata {
        var metadata: Metadata = [:]
        metadata.addString(reason, forKey: Self.reasonKey)
        if let field { metadata.addString(field, forKey: Self.fieldKey) }
        if let retryAfterSeconds { metadata.addString(String(retryAfterSeconds), forKey: Self.retryAfterKey) }
        return metadata
    }

    /// A request field that breaks a rule: 400 at the edge, naming the field.
    public static func invalid(_ field: String, _ message: String) -> ServiceError {
        ServiceError(.invalidArgument, reason: "VALIDATION_FAILED", message, field: field)
    }

    public static func notFound(_ what: String) -> ServiceError {
        ServiceError(.notFound, reason: "NOT_FOUND", "\(what) not found")
    }

    public static func unauthenticated(_ message: String, reason: String = "UNAUTHENTICATED") -> ServiceError {
        ServiceError(.unauthenticated, reason: reason, message)
    }

    public static func permissionDenied(_ message: String, reason: String = "FORBIDDEN") -> ServiceError {
        ServiceError(.permissionDenied, reason: reason, message)
    }
}
