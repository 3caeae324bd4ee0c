import GRPCCore

/// A reply to a unary call: the message's serialized bytes and the reply's initial metadata.
public struct UnaryReply: Sendable {
    public var message: [UInt8]
    public var metadata: Metadata

    public init(message: [UInt8], metadata: Metadata) {
        self.message = message
        self.metadata = metadata
    }
}

/// How one service reaches another for a unary call: inside the process without a socket
/// (`LocalChannel`) or over HTTP/2 (`HTTP2Channel`). Both carry the same serialized messages and
/// metadata, end at the same server interceptors, and fail with the same `RPCError`s: the code,
/// the message and the trailing metadata with `grpc-status-details-bin`.
public protocol UnaryChannel: Sendable {
    /// - Parameters:
    ///   - timeout: the call's deadline from now; sent as `grpc-timeout` and enforced here too.
    func unary(_ method: MethodDescriptor, request: [UInt8], metadata: Metadata, timeout: Duration) async throws -> UnaryReply
}
