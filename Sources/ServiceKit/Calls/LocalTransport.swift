import GRPCCore
import Synchronization

/// A server transport for calls from the same process: no socket, no HTTP/2, no stream
/// machinery on the calling side. The service's `GRPCServer` listens on it as it does on its
/// port, so a call still passes the same interceptors (the error boundary, the principal and
/// its roles), the same executor (the `grpc-timeout` deadline, cancellation), and the same
/// serialized messages; what comes back is the same status with its details.
public final class LocalServerTransport: ServerTransport {
    public typealias Bytes = [UInt8]
    typealias Handler = @Sendable (RPCStream<Inbound, Outbound>, ServerContext) async -> Void

    private enum State {
        case waiting([CheckedContinuation<Handler, any Error>])
        case listening(Handler)
        case stopped
    }

    private let state = Mutex<State>(.waiting([]))
    private let stopped = Mutex<[CheckedContinuation<Void, Never>]>([])
    let name: String

    public init(name: String) { self.name = name }

    public func listen(streamHandler: @escaping @Sendable (RPCStream<Inbound, Outbound>, ServerContext) async -> Void) async throws {
        let waiting = state.withLock { state -> [CheckedContinuation<Handler, any Error>] in
            guard case .waiting(let waiting) = state else { return [] }
            state = .listening(streamHandler)
            return waiting
        }
        for caller in waiting { caller.resume(returning: streamHandler) }
        // Listens until the server shuts down; calls run in their callers' tasks.
        await withCheckedContinuation { continuation in
            let alreadyStopped = state.withLock { state -> Bool in
                if case .stopped = state { return true }
                stopped.withLock { $0.append(continuation) }
                return false
            }
            if alreadyStopped { continuation.resume() }
        }
    }

    public func beginGracefulShutdown() {
        let waiting = state.withLock { state -> [CheckedContinuation<Handler, any Error>] in
            defer { state = .stopped }
            if case .waiting(let waiting) = state { return waiting }
            return []
        }
        for caller in waiting { caller.resume(throwing: RPCError(code: .unavailable, message: "\(name) is stopping")) }
        for listener in stopped.withLock({ list in defer { list = [] }; return list }) { listener.resume() }
    }

    /// The server's stream handler, once it listens (a call made while the service still
    /// starts waits for it, as a call over the network waits for the port).
    var listening: Handler? {
        state.withLock { state in if case .listening(let handler) = state { handler } else { nil } }
    }

    func handler() async throws -> Handler {
        if let listening { return listening }
        return try await withCheckedThrowingContinuation { continuation in
            let immediate = state.withLock { state -> Result<Handler, any Error>? in
                switch state {
                case .waiting(var waiting):
                    waiting.append(continuation)
                    state = .waiting(waiting)
                    return nil
                case .listening(let handler): return .success(handler)
                case .stopped: return .failure(RPCError(code: .unavailable, message: "\(self.name) has stopped"))
                }
            }
            if let immediate { continuation.resume(with: immediate) }
        }
    }
}

/// Calls a service of this process through its `LocalServerTransport`, in the caller's task.
public struct LocalChannel: UnaryChannel {
    let transport: LocalServerTransport

    public init(_ transport: LocalServerTransport) { self.transport = transport }

    public func unary(_ method: MethodDescriptor, request: [UInt8], metadata: Metadata, timeout: Duration) async throws -> UnaryReply {
        let handler = if let listening = transport.listening {
            listening
        } else {
            try await withDeadline(timeout, target: transport.name) { [transport] in try await transport.handler() }
        }
        var metadata = metadata
        // The server's executor enforces the deadline from here, as it does for a network call.
        metadata.replaceOrAddString(GRPCWire.timeoutHeader(timeout), forKey: "grpc-timeout")
        let reply = ReplyCollector()
        let stream = RPCStream(
            descriptor: method,
            inbound: RPCAsyncSequence(wrapping: RequestParts(parts: [.metadata(metadata), .message(request)])),
            outbound: RPCWriter.Closable(wrapping: reply))
        let name = transport.name
        // The caller waits until the deadline and no longer, as a network caller does: the
        // server's executor only flags the RPC as cancelled, and a handler that does not look
        // keeps running, so at the deadline its task is cancelled as a reset stream would be.
        let answered = await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                await withServerContextRPCCancellationHandle { cancellation in
                    let context = ServerContext(descriptor: method, remotePeer: "in-process", localPeer: "in-process:\(name)",
                                                cancellation: cancellation)
                    await withTaskCancellationHandler {
                        await handler(stream, context)
                    } onCancel: {
                        cancellation.cancel()
                    }
                }
                return true
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return false
            }
            let first = await group.next() ?? false
            group.cancelAll()
            return first
        }
        guard answered else {
            throw RPCError(code: .deadlineExceeded, message: "\(name) did not answer before the call's deadline")
        }
        return try reply.result()
    }

    private func withDeadline<T: Sendable>(_ timeout: Duration, target: String, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { try await body() }
            group.addTask {
                try await Task.sleep(for: timeout)
                return nil
            }
            defer { group.cancelAll() }
            guard let value = try await group.next() ?? nil else {
                throw RPCError(code: .deadlineExceeded, message: "\(target) did not start before the call's deadline")
            }
            return value
        }
    }
}

/// The request's parts, as the transport would have read them from the wire.
private struct RequestParts: AsyncSequence, Sendable {
    typealias Element = RPCRequestPart<[UInt8]>
    let parts: [Element]

    struct AsyncIterator: AsyncIteratorProtocol {
        var parts: IndexingIterator<[Element]>
        mutating func next() async throws -> Element? { parts.next() }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(parts: parts.makeIterator()) }
}

/// What the server writes back: metadata, the message, the status.
private final class ReplyCollector: ClosableRPCWriterProtocol, Sendable {
    typealias Element = RPCResponsePart<[UInt8]>

    private struct Parts {
        var metadata: Metadata = [:]
        var message: [UInt8]?
        var status: (Status, Metadata)?
        var failure: (any Error)?
    }

    private let parts = Mutex(Parts())

    func write(_ element: Element) async throws {
        parts.withLock { parts in
            switch element {
            case .metadata(let metadata): parts.metadata = metadata
            case .message(let message): parts.message = message
            case .status(let status, let trailers): parts.status = (status, trailers)
            }
        }
    }

    func write(contentsOf elements: some Sequence<Element>) async throws {
        for element in elements { try await write(element) }
    }

    func finish() async {}

    func finish(throwing error: any Error) async {
        parts.withLock { $0.failure = error }
    }

    func result() throws -> UnaryReply {
        try parts.withLock { parts in
            guard let (status, trailers) = parts.status else {
                throw RPCError(code: .internalError, message: "the service ended the call without a status: \(parts.failure.map { "\($0)" } ?? "no reply")")
            }
            if let error = RPCError(status: status, metadata: trailers) { throw error }
            guard let message = parts.message else { throw RPCError(code: .internalError, message: "the reply carried no message") }
            return UnaryReply(message: message, metadata: parts.metadata)
        }
    }
}
