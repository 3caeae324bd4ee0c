import GRPCCore
import Logging

/// The service boundary: every call is served with its request id set (`RequestID`), and a
/// failure that is not a domain error (a database error, a bug) is logged here once, with the
/// RPC's name and the request id, and reaches the caller as INTERNAL with a generic message,
/// never the error's own text. Domain errors (`ServiceError`, an `RPCError` a handler or a
/// downstream service chose) pass as they are.
public struct ErrorBoundaryInterceptor: ServerInterceptor {
    private let logger: Logger

    public init(logger: Logger) { self.logger = logger }

    public func intercept<Input: Sendable, Output: Sendable>(
        request: StreamingServerRequest<Input>,
        context: ServerContext,
        next: @Sendable (StreamingServerRequest<Input>, ServerContext) async throws -> StreamingServerResponse<Output>
    ) async throws -> StreamingServerResponse<Output> {
        let id = RequestID.accept(request.metadata[stringValues: RequestID.metadataKey].first(where: { _ in true }))
        let method = context.descriptor.fullyQualifiedMethod
        let logger = self.logger
        return try await RequestID.$current.withValue(id) {
            var response: StreamingServerResponse<Output>
            do {
                response = try await next(request, context)
            } catch {
                throw Self.boundary(error, method: method, logger: logger)
            }
            switch response.accepted {
            case .failure(let error):
                response.accepted = .failure(Self.boundary(error, method: method, logger: logger))
            case .success(var contents):
                let producer = contents.producer
                contents.producer = { writer in
                    try await RequestID.$current.withValue(id) {
                        do {
                            return try await producer(writer)
                        } catch {
                            throw Self.boundary(error, method: method, logger: logger)
                        }
                    }
                }
                response.accepted = .success(contents)
            }
            return response
        }
    }

    /// The error the caller sees. gRPC turns what a handler throws into an RPCError, keeping an
    /// error it cannot convert as the `cause` of an UNKNOWN one: that is what is logged here.
    static func boundary(_ error: any Error, method: String, logger: Logger) -> RPCError {
        if let error = error as? RPCError, error.code != .unknown { return error }
        let cause = (error as? RPCError)?.cause ?? error
        switch cause {
        case let known as RPCError where known.code != .unknown:
            return known
        case let convertible as any RPCErrorConvertible where !(convertible is RPCError):
            return RPCError(convertible)
        case is CancellationError:
            return RPCError(code: .cancelled, message: "the call was cancelled")
        default:
            logger.error("RPC failed", metadata: [
                "rpc": "\(method)", "requestId": "\(RequestID.current ?? "")", "error": "\(String(reflecting: cause))",
            ])
            return RPCError(code: .internalError, message: "internal error")
        }
    }
}
