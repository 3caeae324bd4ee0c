import GRPCCore
import NIOCore
import NIOHTTP2
import Synchronization

/// One RPC on a `ServerStreams` connection, between the connection's event loop and the task
/// that runs it through grpc-swift-2's executor: the request parts read so far, waiting for the
/// executor to take them; the reply parts it writes, handed to the connection's outbox; and the
/// handle that cancels the RPC when the client resets its stream.
final class ServerCall: ClosableRPCWriterProtocol, Sendable {
    typealias Element = RPCResponsePart<[UInt8]>
    typealias RequestPart = RPCRequestPart<[UInt8]>

    private struct State {
        var parts = CircularBuffer<RequestPart>(initialCapacity: 2)
        /// Set once the request has ended: `.success` after END_STREAM, `.failure` when the
        /// request broke its limits or the stream was reset.
        var end: Result<Void, any Error>?
        var waiter: CheckedContinuation<RequestPart?, any Error>?
        var cancellation: ServerContext.RPCCancellationHandle?
        var cancelled = false
        var statusWritten = false
    }

    let streamID: HTTP2StreamID
    private let outbox: ServerOutbox
    private let state = Mutex(State())

    init(streamID: HTTP2StreamID, outbox: ServerOutbox) {
        self.streamID = streamID
        self.outbox = outbox
    }

    // MARK: The request, from the event loop

    func receive(_ part: RequestPart) {
        let waiter = state.withLock { state -> CheckedContinuation<RequestPart?, any Error>? in
            guard state.end == nil else { return nil }
            if let waiter = state.waiter {
                state.waiter = nil
                return waiter
            }
            state.parts.append(part)
            return nil
        }
        waiter?.resume(returning: part)
    }

    /// The request has ended, well (`nil`) or not.
    func endRequest(_ error: (any Error)? = nil) {
        let waiter = state.withLock { state -> CheckedContinuation<RequestPart?, any Error>? in
            guard state.end == nil else { return nil }
            state.end = error.map { .failure($0) } ?? .success(())
            defer { state.waiter = nil }
            return state.waiter
        }
        if let error { waiter?.resume(throwing: error) } else { waiter?.resume(returning: nil) }
    }

    /// The client reset the stream or the connection went: the request ends in error and the
    /// RPC is cancelled (its handler sees `context.cancellation`, as with grpc-swift's transport).
    func cancel() {
        endRequest(RPCError(code: .cancelled, message: "the client cancelled the call"))
        let handle = state.withLock { state -> ServerContext.RPCCancellationHandle? in
            state.cancelled = true
            return state.cancellation
        }
        handle?.cancel()
    }

    // MARK: The task's side

    /// The RPC's cancellation handle, once its task has one; a call reset before then is
    /// cancelled at once.
    func setCancellation(_ handle: ServerContext.RPCCancellationHandle) {
        let cancelled = state.withLock { state -> Bool in
            state.cancellation = handle
            return state.cancelled
        }
        if cancelled { handle.cancel() }
    }

    /// The next request part; waits only when the client has not sent it yet (a unary request
    /// has arrived whole before the task starts).
    func nextPart() async throws -> RequestPart? {
        enum Take { case part(RequestPart), ended(Result<Void, any Error>), wait }
        let take = state.withLock { state -> Take in
            if let part = state.parts.popFirst() { return .part(part) }
            if let end = state.end { return .ended(end) }
            return .wait
        }
        switch take {
        case .part(let part): return part
        case .ended(let end): try end.get(); return nil
        case .wait:
            return try await withCheckedThrowingContinuation { continuation in
                let now = state.withLock { state -> Result<RequestPart?, any Error>? in
                    if let part = state.parts.popFirst() { return .success(part) }
                    if let end = state.end { return end.map { nil } }
                    state.waiter = continuation
                    return nil
                }
                if let now { continuation.resume(with: now) }
            }
        }
    }

    var inbound: Inbound { Inbound(call: self) }

    struct Inbound: AsyncSequence, Sendable {
        typealias Element = RequestPart
        let call: ServerCall

        struct AsyncIterator: AsyncIteratorProtocol {
            let call: ServerCall
            mutating func next() async throws -> RequestPart? { try await call.nextPart() }
        }

        func makeAsyncIterator() -> AsyncIterator { AsyncIterator(call: call) }
    }

    // MARK: The reply, from the task

    func write(_ element: Element) async throws {
        if case .status = element { state.withLock { $0.statusWritten = true } }
        outbox.send(streamID, .part(element))
    }

    func write(contentsOf elements: some Sequence<Element>) async throws {
        for element in elements { try await write(element) }
    }

    /// The executor writes the status before it finishes; nothing more to send.
    func finish() async {}

    func finish(throwing error: any Error) async {
        outbox.send(streamID, .abandoned)
    }

    /// The task is done: a reply that never got its status is reset, so the client is not left
    /// waiting on it.
    func taskEnded() {
        guard !state.withLock({ $0.statusWritten }) else { return }
        outbox.send(streamID, .abandoned)
    }
}
