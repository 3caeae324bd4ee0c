import GRPCCore

/// The HTTP status for a gRPC status, as grpc-gateway maps them (DESIGN.md, "The wire").
public enum HTTPStatusMapping {
    public static func status(for code: RPCError.Code) -> Int {
        switch code {
        case .invalidArgument, .failedPrecondition, .outOfRange: 400
        case .unauthenticated: 401
        case .permissionDenied: 403
        case .notFound: 404
        case .alreadyExists, .aborted: 409
        case .resourceExhausted: 429
        case .cancelled: 499
        case .unimplemented: 501
        case .unavailable: 503
        case .deadlineExceeded: 504
        default: 500
        }
    }

    /// The stable upper-case name the edge reports when a service gave no reason of its own.
    public static func name(for code: RPCError.Code) -> String {
        switch code {
        case .invalidArgument: "INVALID_ARGUMENT"
        case .failedPrecondition: "FAILED_PRECONDITION"
        case .outOfRange: "OUT_OF_RANGE"
        case .unauthenticated: "UNAUTHENTICATED"
        case .permissionDenied: "PERMISSION_DENIED"
        case .notFound: "NOT_FOUND"
        case .alreadyExists: "ALREADY_EXISTS"
        case .aborted: "ABORTED"
        case .resourceExhausted: "RESOURCE_EXHAUSTED"
        case .cancelled: "CANCELLED"
        case .unimplemented: "UNIMPLEMENTED"
        case .unavailable: "UNAVAILABLE"
        case .deadlineExceeded: "DEADLINE_EXCEEDED"
        default: "INTERNAL"
        }
    }
}
