import GRPCCore
import NIOCore
import NIOHTTP2

/// The unary calls of one HTTP/2 connection, as frames on the connection itself: each call is a
/// stream id in a table, not a child channel with a pipeline of its own (what NIO's stream
/// multiplexer would give every call, and most of a lean client's cost per call). Without the
/// multiplexer the flow-control windows are ours to give back, so this handler does that too
/// (`ReceiveWindows`): a large connection window, and a stream's window renewed as a long reply
/// is read.
///
/// Lives on the connection's event loop; `HTTP2Channel` reaches it with `eventLoop.execute`.
final class UnaryStreams: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTP2Frame
    typealias OutboundOut = HTTP2Frame

    /// The connection's window: room for the largest reply and then some, so no reply waits on a
    /// window update for the connection. The streams' matches SETTINGS_INITIAL_WINDOW_SIZE sent by
    /// `HTTP2Connection`.
    static let windows = ReceiveWindows(connection: 2 * GRPCWire.maxReplyBytes, stream: 1 << 20)

    private var context: ChannelHandlerContext?
    private var calls: [HTTP2StreamID: UnaryCall] = [:]
    private var nextStreamID: Int32 = 1
    /// The last stream the server said it processes, once it sent GOAWAY.
    private var lastProcessed: HTTP2StreamID?
    /// Called once when the connection takes no more calls (GOAWAY, or its stream ids ran out).
    private let onRetired: @Sendable () -> Void
    private var retired = false
    private var flushScheduled = false

    init(onRetired: @escaping @Sendable () -> Void) {
        self.onRetired = onRetired
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        // The HTTP/2 handler before us has written the preface; widen the connection's window.
        context.writeAndFlush(wrapOutboundOut(Self.windows.widening), promise: nil)
        context.fireChannelActive()
    }

    /// Opens `call`'s stream: its HEADERS and its one DATA frame with END_STREAM, in one flush.
    /// A call this connection can no longer take fails as `Unprocessed`, to go out on another.
    func start(_ call: UnaryCall) {
        guard let context, context.channel.isActive, lastProcessed == nil, nextStreamID < Int32.max - 1,
              let body = call.takeBody() else {
            call.fail(Unprocessed(error: RPCError(code: .unavailable, message: "the connection takes no more calls")))
            return
        }
        let streamID = HTTP2StreamID(nextStreamID)
        nextStreamID += 2
        if nextStreamID >= Int32.max - 1 { retire() }
        call.streamID = streamID
        calls[streamID] = call
        let opened = context.eventLoop.makePromise(of: Void.self)
        opened.futureResult.whenFailure { [weak self] error in
            // The headers never left: nothing reached the server.
            guard let self, self.calls.removeValue(forKey: streamID) != nil else { return }
            call.fail(Unprocessed(error: RPCError(code: .unavailable, message: "could not open a stream: \(error)")))
        }
        context.write(wrapOutboundOut(HTTP2Frame(streamID: streamID, payload: .headers(.init(headers: call.headers)))), promise: opened)
        context.write(wrapOutboundOut(HTTP2Frame(streamID: streamID, payload: .data(.init(data: .byteBuffer(body), endStream: true)))),
                      promise: nil)
        flushSoon(context)
    }

    /// One flush for the calls started in this turn of the event loop: calls queued together
    /// leave in one write, and the server reads them in one.
    private func flushSoon(_ context: ChannelHandlerContext) {
        guard !flushScheduled else { return }
        flushScheduled = true
        context.eventLoop.execute {
            self.flushScheduled = false
            self.context?.flush()
        }
    }

    /// Ends `call` with `error` (its deadline passed, or its caller went away) and resets its
    /// stream, so the server stops working on it.
    func abort(_ call: UnaryCall, _ error: RPCError) {
        guard !call.done else { return }
        call.fail(error)
        guard let streamID = call.streamID, calls.removeValue(forKey: streamID) != nil else { return }
        reset(streamID)
        closeIfDrained()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        guard frame.streamID != .rootStream else {
            if case .goAway(let lastStreamID, _, _) = frame.payload { goingAway(lastStreamID: lastStreamID) }
            return
        }
        guard let call = calls[frame.streamID] else { return }
        let next = call.receive(frame.payload)
        guard next != .open else {
            if case .data(let data) = frame.payload, let streamID = call.streamID,
               let update = Self.windows.giveBack(data, on: streamID, unacknowledged: &call.unacknowledgedBytes) {
                context.writeAndFlush(wrapOutboundOut(update), promise: nil)
            }
            return
        }
        calls.removeValue(forKey: frame.streamID)
        if next == .finishedReset { reset(frame.streamID) }
        closeIfDrained()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let update = Self.windows.topUp(after: event) {
            context.writeAndFlush(wrapOutboundOut(update), promise: nil)
        }
        if let closed = event as? StreamClosedEvent, let call = calls.removeValue(forKey: closed.streamID) {
            if !call.answered && (closed.reason == .refusedStream || lastProcessed.map { closed.streamID > $0 } == true) {
                call.fail(Unprocessed(error: RPCError(code: .unavailable, message: "the server did not take the stream")))
            } else {
                call.fail(RPCError(code: .unavailable, message: "the stream closed before the reply" + (closed.reason.map { " (\($0))" } ?? "")))
            }
            closeIfDrained()
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let streamError = error as? NIOHTTP2Errors.StreamError {
            calls.removeValue(forKey: streamError.streamID)?
                .fail(RPCError(code: .unavailable, message: "the call failed on its stream: \(streamError.baseError)"))
            return
        }
        failAll(RPCError(code: .unavailable, message: "the connection failed: \(error)"))
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        failAll(RPCError(code: .unavailable, message: "the connection closed before the reply"))
        retire()
        context.fireChannelInactive()
    }

    /// GOAWAY: streams above `lastStreamID` were never processed and go out again elsewhere; the
    /// rest finish here, and the connection closes once they have.
    private func goingAway(lastStreamID: HTTP2StreamID) {
        lastProcessed = min(lastProcessed ?? lastStreamID, lastStreamID)
        retire()
        for (streamID, call) in calls where streamID > lastStreamID {
            calls.removeValue(forKey: streamID)
            call.fail(Unprocessed(error: RPCError(code: .unavailable, message: "the server is going away")))
        }
        closeIfDrained()
    }

    private func retire() {
        guard !retired else { return }
        retired = true
        onRetired()
    }

    private func closeIfDrained() {
        guard retired, calls.isEmpty, let context, context.channel.isActive else { return }
        context.close(promise: nil)
    }

    private func failAll(_ error: RPCError) {
        let open = calls
        calls.removeAll()
        for call in open.values { call.fail(error) }
    }

    private func reset(_ streamID: HTTP2StreamID) {
        context?.writeAndFlush(wrapOutboundOut(HTTP2Frame(streamID: streamID, payload: .rstStream(.cancel))), promise: nil)
    }
}
