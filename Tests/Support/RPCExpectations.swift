import GRPCCore
import ServiceKit

/// What a failed call said: its gRPC code and the service's reason, field and retry hint.
public struct CallFailure: Sendable, Equatable, CustomStringConvertible {
    public let code: RPCError.Code
    public let reason: String?
    public let field: String?
    public let retryAfter: String?
    public let message: String

    public init(_ error: RPCError) {
        code = error.code
        // Read from the standard google.rpc.Status details, as any gRPC client reads them.
        let details = ServiceError(received: error)
        reason = details.reason.isEmpty ? nil : details.reason
        field = details.field
        retryAfter = details.retryAfterSeconds.map(String.init)
        message = error.message
    }

    public var description: String { "\(code) \(reason ?? "-") field=\(field ?? "-") \(message)" }
}

/// The failure `body` ends in, or nil when it succeeds.
public func failure(_ body: () async throws -> some Any) async -> CallFailure? {
    do {
        _ = try await body()
        return nil
    } catch let error as RPCError {
        return CallFailure(error)
    } catch {
        return CallFailure(RPCError(code: .unknown, message: "\(error)"))
    }
}
