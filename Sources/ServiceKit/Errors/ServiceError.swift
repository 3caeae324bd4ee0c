import GRPCCore
import GRPCProtobuf

/// An error a service means to show its caller: a gRPC code, a stable reason the apps can switch
/// on (`EMAIL_TAKEN`), a human message, and optionally the field at fault (in its REST spelling,
/// `planId`) and when to retry. They travel as the standard `google.rpc.Status` details in the
/// `grpc-status-details-bin` trailer (ErrorInfo with the reason, BadRequest with the field,
/// RetryInfo), which grpcio, Go and grpcurl decode; the edge turns them into
/// `{"error": {"code", "message", "details", "retryAfter"}}`.
public struct ServiceError: Error, RPCErrorConvertible, Equatable, CustomStringConvertible {
    /// ErrorInfo's domain: whose reasons these are.
    public static let domain = "atelier"
    /// Also sent plainly, for HTTP-minded clients and proxies that read no details.
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
        var metadata = status.rpcErrorMetadata
        if let retryAfterSeconds { metadata.addString(String(retryAfterSeconds), forKey: Self.retryAfterKey) }
        return metadata
    }

    /// The error as a `google.rpc.Status` with its details.
    public var status: GoogleRPCStatus {
        var details: [ErrorDetails] = [.errorInfo(reason: reason, domain: Self.domain)]
        if let field { details.append(.badRequest(violations: [.init(field: field, description: message)])) }
        if let retryAfterSeconds { details.append(.retryInfo(delay: .seconds(retryAfterSeconds))) }
        return GoogleRPCStatus(code: code, message: message, details: details)
    }

    /// A service's error as a caller received it: the reason, field and retry hint from the
    /// standard details; a status without them keeps its code and message only.
    public init(received error: RPCError) {
        self.init(error.code, reason: "", error.message)
        guard let status = try? error.unpackGoogleRPCStatus() else { return }
        for detail in status.details {
            if let info = detail.errorInfo { reason = info.reason }
            if let violation = detail.badRequest?.violations.first { field = violation.field }
            if let retry = detail.retryInfo { retryAfterSeconds = Int(retry.delay.components.seconds) }
        }
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
