import GRPCCore
import NIOCore
import NIOHTTP2
import NIOPosix
import Synchronization

/// A lean unary gRPC client over HTTP/2 for calls between our services: a few connections to one
/// target (one per event loop), each call a stream id with one promise (`UnaryStreams`), and none
/// of the per-call machinery of a general client (interceptors, retries, streaming bridges, a
/// child channel per stream).
/// Streaming calls keep grpc-swift-2's client.
///
/// A call waits for a connection while its deadline allows (a service still starting), sends
/// `grpc-timeout`, resets its stream when the deadline passes or its task is cancelled, accepts
/// replies up to 16 MiB, and reads the status and its details from the trailers. A call the
/// server never saw (its stream refused, or not opened on a connection that went away) goes out
/// again, once, on another connection.
public final class HTTP2Channel: UnaryChannel {
    public let target: String
    private let connections: [HTTP2Connection]
    private let next = Atomic<Int>(0)

    public init(host: String, port: Int, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton, connections: Int? = nil) {
        target = "\(host):\(port)"
        let loops = Array(group.makeIterator())
        let count = max(1, connections ?? loops.count)
        self.connections = (0..<count).map { HTTP2Connection(host: host, port: port, eventLoop: loops[$0 % loops.count]) }
    }

    public func unary(_ method: MethodDescriptor, request: [UInt8], metadata: Metadata, timeout: Duration) async throws -> UnaryReply {
        let deadline = ContinuousClock.now + timeout
        var resent = false
        while true {
            let index = next.wrappingAdd(1, ordering: .relaxed).oldValue
            let connection = connections[index % connections.count]
            do {
                return try await call(method, request: request, metadata: metadata, deadline: deadline, on: connection)
            } catch is Unprocessed where !resent {
                resent = true
            } catch let error as Unprocessed {
                throw error.error
            }
        }
    }

    private func call(_ method: MethodDescriptor, request: [UInt8], metadata: Metadata, deadline: ContinuousClock.Instant,
                      on connection: HTTP2Connection) async throws -> UnaryReply {
        let ready = try await open(connection, deadline: deadline)
        let remaining = deadline - .now
        guard remaining > .zero else { throw Self.deadlineExceeded }
        let eventLoop = ready.channel.eventLoop
        let promise = eventLoop.makePromise(of: UnaryReply.self)
        let call = UnaryCall(
            headers: GRPCWire.requestHeaders(path: "/\(method.service.fullyQualifiedService)/\(method.method)",
                                             authority: target, metadata: metadata, timeout: remaining),
            body: GRPCWire.frame(request, allocator: ready.channel.allocator), promise: promise)
        let streams = ready.streams
        eventLoop.execute {
            streams.start(call)
            guard !call.done else { return }
            let timer = eventLoop.scheduleTask(in: .nanoseconds(Int64(remaining.nanoseconds))) { streams.abort(call, Self.deadlineExceeded) }
            promise.futureResult.whenComplete { _ in timer.cancel() }
        }
        return try await withTaskCancellationHandler {
            try await promise.futureResult.get()
        } onCancel: {
            eventLoop.execute { streams.abort(call, RPCError(code: .cancelled, message: "the call was cancelled")) }
        }
    }

    /// The connection, waiting while it (re)connects, up to the deadline: a service that is
    /// starting or restarting is waited for, as grpc's wait-for-ready calls do.
    private func open(_ connection: HTTP2Connection, deadline: ContinuousClock.Instant) async throws -> HTTP2Connection.Ready {
        if let ready = connection.current { return ready }
        var lastError: (any Error)?
        while ContinuousClock.now < deadline {
            try Task.checkCancellation()
            do {
                return try await withThrowingTaskGroup(of: HTTP2Connection.Ready?.self) { group in
                    group.addTask { try await connection.ready().get() }
                    group.addTask {
                        try await Task.sleep(until: deadline)
                        return nil
                    }
                    defer { group.cancelAll() }
                    guard let ready = try await group.next() ?? nil else { throw Self.deadlineExceeded }
                    return ready
                }
            } catch let error as RPCError where error.code == .deadlineExceeded {
                break
            } catch {
                lastError = error
            }
        }
        // As a gRPC call that waits for the channel to be ready: the deadline is what ended it.
        throw RPCError(code: .deadlineExceeded,
                       message: "\(target) could not be reached before the call's deadline" + (lastError.map { ": \($0)" } ?? ""))
    }

    /// Closes the connections; calls in flight fail.
    public func close() {
        for connection in connections { connection.close() }
    }

    static let deadlineExceeded = RPCError(code: .deadlineExceeded, message: "the call's deadline passed")
}

/// A failure before the request reached the server, so sending it again is safe.
struct Unprocessed: Error {
    let error: RPCError
}

extension Duration {
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}
