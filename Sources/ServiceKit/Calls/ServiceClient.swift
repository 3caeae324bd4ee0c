import AtelierProtos
import GRPCCore
import SwiftProtobuf

/// How a service or the edge calls another service's unary RPCs: in the process when the target
/// runs here (`LocalChannel`), over HTTP/2 otherwise (`HTTP2Channel`), with a deadline on every
/// call. Errors are `RPCError`s with the service's status details, whichever way the call went.
public struct ServiceClient: Sendable {
    public let target: String
    public let channel: any UnaryChannel
    public let timeout: Duration

    public init(target: String, channel: any UnaryChannel, timeout: Duration) {
        self.target = target
        self.channel = channel
        self.timeout = timeout
    }

    /// Calls `method` and decodes its reply.
    public func call<Method: UnaryMethod>(_ method: Method.Type, _ request: Method.Input, metadata: Metadata) async throws -> Method.Output {
        try await callWithMetadata(method, request, metadata: metadata).reply
    }

    /// Calls `method` and decodes its reply, with the reply's initial metadata.
    public func callWithMetadata<Method: UnaryMethod>(
        _ method: Method.Type, _ request: Method.Input, metadata: Metadata
    ) async throws -> (reply: Method.Output, metadata: Metadata) {
        let reply = try await callBytes(Method.descriptor, request, metadata: metadata)
        do {
            return (try Method.Output(serializedBytes: reply.message), reply.metadata)
        } catch {
            throw RPCError(code: .internalError, message: "\(target) sent a reply that is not a \(Method.Output.protoMessageName)")
        }
    }

    /// Calls any unary method and returns the reply's bytes undecoded (the edge's transcoder
    /// writes JSON straight from them).
    public func callBytes(_ method: MethodDescriptor, _ request: some SwiftProtobuf.Message, metadata: Metadata) async throws -> UnaryReply {
        let bytes: [UInt8]
        do {
            bytes = try request.serializedBytes()
        } catch {
            throw RPCError(code: .internalError, message: "the request could not be serialized: \(error)")
        }
        return try await channel.unary(method, request: bytes, metadata: metadata, timeout: timeout)
    }
}
