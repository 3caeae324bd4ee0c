import Foundation
import GRPCCore
import ServiceKit
import Synchronization

/// A gRPC service for testing clients, on raw bytes (no protobuf), as `scripts/interop/grpcio_server.py`
/// serves it from Python:
/// - `Echo` answers with the request's bytes and the metadata entry `echo-count`;
/// - `Sleep` waits the request's milliseconds (decimal text) before answering "slept";
/// - `Fail` fails INVALID_ARGUMENT with ErrorInfo (reason "ECHO_REFUSED") and BadRequest (field
///   "input") in `grpc-status-details-bin`, the message "refused: <request>";
/// - `Big` answers with as many bytes as the request's decimal text says;
/// - `Count` (server streaming, Swift only) answers "1", "2", ... up to the request's decimal text.
public struct EchoService: RegistrableRPCService {
    public static let service = "atelier.test.Echo"
    public static func method(_ name: String) -> MethodDescriptor {
        MethodDescriptor(fullyQualifiedService: service, method: name)
    }

    /// How many `Sleep` calls this service has begun, so a test knows one reached the server.
    public var sleepsBegun: Int { sleeps.value.load(ordering: .relaxed) }
    private let sleeps = Counter()

    public init() {}

    public func registerMethods<Transport: ServerTransport>(with router: inout RPCRouter<Transport>) {
        registerStreaming(with: &router)
        register("Echo", in: &router) { request in
            ServerResponse(message: request.message, metadata: ["echo-count": "\(request.message.count)"])
        }
        register("Sleep", in: &router) { request in
            sleeps.value.add(1, ordering: .relaxed)
            try await Task.sleep(for: .milliseconds(Int(String(decoding: request.message, as: UTF8.self)) ?? 0))
            return ServerResponse(message: Array("slept".utf8))
        }
        register("Fail", in: &router) { request in
            throw ServiceError(.invalidArgument, reason: "ECHO_REFUSED", "refused: \(String(decoding: request.message, as: UTF8.self))",
                               field: "input")
        }
        register("Big", in: &router) { request in
            ServerResponse(message: [UInt8](repeating: 0x61, count: Int(String(decoding: request.message, as: UTF8.self)) ?? 0))
        }
    }

    /// `Count`: a server-streaming method, for transports that carry streams as well as unary calls.
    public func registerStreaming<Transport: ServerTransport>(with router: inout RPCRouter<Transport>) {
        router.registerHandler(forMethod: Self.method("Count"), deserializer: RawBytes(), serializer: RawBytes()) { request, _ in
            let single = try await ServerRequest(stream: request)
            let count = Int(String(decoding: single.message, as: UTF8.self)) ?? 0
            return StreamingServerResponse { writer in
                for index in stride(from: 1, through: count, by: 1) { try await writer.write(Array("\(index)".utf8)) }
                return [:]
            }
        }
    }

    private func register<Transport: ServerTransport>(
        _ name: String, in router: inout RPCRouter<Transport>,
        _ handler: @escaping @Sendable (ServerRequest<[UInt8]>) async throws -> ServerResponse<[UInt8]>
    ) {
        router.registerHandler(forMethod: Self.method(name), deserializer: RawBytes(), serializer: RawBytes()) { request, _ in
            let single = try await ServerRequest(stream: request)
            return StreamingServerResponse(single: try await handler(single))
        }
    }
}

/// Messages as their bytes, unchanged.
public struct RawBytes: MessageSerializer, MessageDeserializer {
    public init() {}

    public func serialize<Bytes: GRPCContiguousBytes>(_ message: [UInt8]) throws -> Bytes { Bytes(message) }

    public func deserialize<Bytes: GRPCContiguousBytes>(_ serializedMessageBytes: Bytes) throws -> [UInt8] {
        serializedMessageBytes.withUnsafeBytes { Array($0) }
    }
}

private final class Counter: Sendable {
    let value = Atomic<Int>(0)
}
