import GRPCCore
import NIOCore
import NIOHPACK
import NIOHTTP2

/// The RPCs of one HTTP/2 connection to a service, as frames on the connection itself: each call
/// is a stream id in a table and a task running grpc-swift-2's executor, not a child channel with
/// a pipeline, an async channel and an async sequence of its own (what grpc-swift-nio-transport
/// gives every call, and most of a service's CPU per call in its profile). The server's side of
/// the lean client's `UnaryStreams`: it gives the flow-control windows back itself
/// (`ReceiveWindows`), starts a
/// call's task once the read that brought its headers is done (so a unary request is whole
/// before its task looks), and writes the replies of calls that answer together in one flush.
///
/// Lives on the connection's event loop; the calls' tasks reach it through `ServerOutbox`.
final class ServerStreams: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTP2Frame
    typealias OutboundOut = HTTP2Frame

    /// What every connection of one listener shares.
    struct Listener: Sendable {
        /// `GRPCServer`'s: routes the call and runs it through the executor and interceptors.
        let handler: @Sendable (RPCStream<FrameServerTransport.Inbound, FrameServerTransport.Outbound>, ServerContext) async -> Void
        let maxRequestBytes: Int
        let connections: ServerConnections
    }

    /// The streams' window matches SETTINGS_INITIAL_WINDOW_SIZE sent by `FrameServerTransport`.
    static let streamWindow = 1 << 20

    private struct Open {
        let call: ServerCall
        var deframer: GRPCWire.Deframer
        var unacknowledged = 0
        var sentHeaders = false
        /// The client has sent END_STREAM (or the request failed and the rest is ignored).
        var requestEnded = false
    }

    private let listener: Listener
    /// The connection's window has room for two of the largest requests.
    private let windows: ReceiveWindows
    private let outbox: ServerOutbox
    private var context: ChannelHandlerContext?
    private var open: [HTTP2StreamID: Open] = [:]
    /// Calls whose headers arrived in the read being processed; their tasks start at its end.
    private var starting: [(ServerCall, MethodDescriptor)] = []
    private var lastStreamID = HTTP2StreamID.rootStream
    private var goingAway = false
    private var remotePeer = ""
    private var localPeer = ""

    init(listener: Listener, eventLoop: any EventLoop) {
        self.listener = listener
        self.windows = ReceiveWindows(connection: max(1 << 20, 2 * listener.maxRequestBytes), stream: Self.streamWindow)
        self.outbox = ServerOutbox(eventLoop: eventLoop)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        outbox.attach(self)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        outbox.detach()
    }

    func channelActive(context: ChannelHandlerContext) {
        remotePeer = Self.describe(context.channel.remoteAddress)
        localPeer = Self.describe(context.channel.localAddress)
        listener.connections.opened(self, on: context.eventLoop)
        context.writeAndFlush(wrapOutboundOut(windows.widening), promise: nil)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        let calls = open.values.map(\.call)
        open.removeAll()
        starting.removeAll()
        for call in calls { call.cancel() }
        outbox.detach()
        listener.connections.closed(self)
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        let streamID = frame.streamID
        guard streamID != .rootStream else { return }
        switch frame.payload {
        case .headers(let headers):
            if open[streamID] != nil {
                // Trailers from the client: its request has ended.
                endRequest(streamID)
            } else {
                opened(streamID, headers: headers.headers, endStream: headers.endStream, context: context)
            }
        case .data(let data):
            received(data, on: streamID, context: context)
        case .rstStream:
            open.removeValue(forKey: streamID)?.call.cancel()
        default:
            break
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        let calls = starting
        starting.removeAll(keepingCapacity: true)
        for (call, method) in calls where open[call.streamID] != nil { start(call, method) }
        context.fireChannelReadComplete()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let update = windows.topUp(after: event) {
            context.writeAndFlush(wrapOutboundOut(update), promise: nil)
        }
        if let closed = event as? StreamClosedEvent, let stream = open.removeValue(forKey: closed.streamID) {
            stream.call.cancel()
            closeIfDrained()
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let streamError = error as? NIOHTTP2Errors.StreamError {
            open.removeValue(forKey: streamError.streamID)?.call.cancel()
            return
        }
        context.close(promise: nil)
    }

    // MARK: Requests

    private func opened(_ streamID: HTTP2StreamID, headers: HPACKHeaders, endStream: Bool, context: ChannelHandlerContext) {
        guard !goingAway, streamID > lastStreamID else {
            context.writeAndFlush(wrapOutboundOut(HTTP2Frame(streamID: streamID, payload: .rstStream(.refusedStream))), promise: nil)
            return
        }
        lastStreamID = streamID
        let method: MethodDescriptor
        switch Self.check(headers) {
        case .failure(let refusal):
            context.write(wrapOutboundOut(HTTP2Frame(streamID: streamID, payload: .headers(.init(headers: refusal.headers, endStream: true)))),
                          promise: nil)
            if !endStream {
                context.write(wrapOutboundOut(HTTP2Frame(streamID: streamID, payload: .rstStream(.noError))), promise: nil)
            }
            context.flush()
            return
        case .success(let found):
            method = found
        }
        let call = ServerCall(streamID: streamID, outbox: outbox)
        call.receive(.metadata(Self.metadata(headers)))
        open[streamID] = Open(call: call, deframer: GRPCWire.Deframer(limit: listener.maxRequestBytes, noun: "request"),
                              requestEnded: endStream)
        if endStream { call.endRequest() }
        starting.append((call, method))
    }

    private func received(_ data: HTTP2Frame.FramePayload.Data, on streamID: HTTP2StreamID, context: ChannelHandlerContext) {
        guard var stream = open[streamID], !stream.requestEnded else { return }
        guard case .byteBuffer(let buffer) = data.data else { return }
        do {
            for message in try stream.deframer.append(buffer) { stream.call.receive(.message(message)) }
            if data.endStream {
                stream.requestEnded = true
                stream.call.endRequest()
            }
        } catch {
            // Too large or compressed: the executor answers with the error; the rest is ignored.
            stream.requestEnded = true
            stream.call.endRequest(error)
        }
        if !stream.requestEnded, let update = windows.giveBack(data, on: streamID, unacknowledged: &stream.unacknowledged) {
            context.writeAndFlush(wrapOutboundOut(update), promise: nil)
        }
        open[streamID] = stream
    }

    private func endRequest(_ streamID: HTTP2StreamID) {
        guard var stream = open[streamID], !stream.requestEnded else { return }
        stream.requestEnded = true
        open[streamID] = stream
        stream.call.endRequest()
    }

    private func start(_ call: ServerCall, _ method: MethodDescriptor) {
        let handler = listener.handler
        let remotePeer = remotePeer
        let localPeer = localPeer
        Task {
            await withServerContextRPCCancellationHandle { cancellation in
                call.setCancellation(cancellation)
                let context = ServerContext(descriptor: method, remotePeer: remotePeer, localPeer: localPeer, cancellation: cancellation)
                let stream = RPCStream(descriptor: method, inbound: RPCAsyncSequence(wrapping: call.inbound),
                                       outbound: RPCWriter.Closable(wrapping: call))
                await handler(stream, context)
            }
            call.taskEnded()
        }
    }

    // MARK: Replies

    /// Writes the parts the calls' tasks queued since the last hop, then flushes once.
    func deliver(_ items: [(HTTP2StreamID, ServerOutbox.Item)]) {
        guard let context else { return }
        for (streamID, item) in items {
            guard var stream = open[streamID] else { continue }
            switch item {
            case .part(.metadata(let metadata)):
                sendHeaders(metadata, on: streamID, of: &stream, context: context)
            case .part(.message(let message)):
                sendHeaders([:], on: streamID, of: &stream, context: context)
                let body = GRPCWire.frame(message, allocator: context.channel.allocator)
                context.write(wrapOutboundOut(HTTP2Frame(streamID: streamID, payload: .data(.init(data: .byteBuffer(body))))), promise: nil)
            case .part(.status(let status, let metadata)):
                open.removeValue(forKey: streamID)
                let trailers = GRPCWire.trailers(status, metadata, trailersOnly: !stream.sentHeaders)
                context.write(wrapOutboundOut(HTTP2Frame(streamID: streamID, payload: .headers(.init(headers: trailers, endStream: true)))),
                              promise: nil)
                if !stream.requestEnded {
                    // The reply is complete; what the client still sends has no reader.
                    context.write(wrapOutboundOut(HTTP2Frame(streamID: streamID, payload: .rstStream(.noError))), promise: nil)
                }
            case .abandoned:
                open.removeValue(forKey: streamID)
                stream.call.cancel()
                context.write(wrapOutboundOut(HTTP2Frame(streamID: streamID, payload: .rstStream(.internalError))), promise: nil)
            }
        }
        context.flush()
        closeIfDrained()
    }

    /// The reply's headers, once: before its first message, or as the handler wrote them.
    private func sendHeaders(_ metadata: Metadata, on streamID: HTTP2StreamID, of stream: inout Open, context: ChannelHandlerContext) {
        guard !stream.sentHeaders else { return }
        stream.sentHeaders = true
        open[streamID] = stream
        context.write(wrapOutboundOut(HTTP2Frame(streamID: streamID, payload: .headers(.init(headers: GRPCWire.responseHeaders(metadata))))),
                      promise: nil)
    }

    // MARK: Shutting down

    /// Takes no new calls (GOAWAY naming the last one taken) and closes once the open ones end.
    func goAway() {
        guard !goingAway, let context else { return }
        goingAway = true
        context.writeAndFlush(wrapOutboundOut(HTTP2Frame(streamID: .rootStream,
                                                         payload: .goAway(lastStreamID: lastStreamID, errorCode: .noError, opaqueData: nil))),
                              promise: nil)
        closeIfDrained()
    }

    /// Closes the connection whatever its calls are doing (the server's task was cancelled).
    func close() {
        context?.close(promise: nil)
    }

    private func closeIfDrained() {
        guard goingAway, open.isEmpty, let context, context.channel.isActive else { return }
        context.close(promise: nil)
    }

    // MARK: Headers

    /// The method a request's headers name, or the reply that refuses it, as grpc-swift's own
    /// transport refuses it: 415 without gRPC's content type, INVALID_ARGUMENT without a path,
    /// scheme or POST, UNIMPLEMENTED for a compression other than identity (none is offered).
    static func check(_ headers: HPACKHeaders) -> Result<MethodDescriptor, Refusal> {
        guard let contentType = headers.first(name: "content-type"), contentType.hasPrefix("application/grpc") else {
            var refusal = HPACKHeaders()
            refusal.add(name: ":status", value: "415")
            return .failure(Refusal(headers: refusal))
        }
        func refuse(_ code: Status.Code, _ message: String) -> Result<MethodDescriptor, Refusal> {
            var trailers = GRPCWire.trailers(Status(code: code, message: message), [:], trailersOnly: true)
            if code == .unimplemented { trailers.add(name: "grpc-accept-encoding", value: "identity") }
            return .failure(Refusal(headers: trailers))
        }
        guard let path = headers.first(name: ":path") else { return refuse(.invalidArgument, "No :path header has been set.") }
        guard let scheme = headers.first(name: ":scheme"), scheme == "http" || scheme == "https" else {
            return refuse(.invalidArgument, ":scheme header must be present and one of \"http\" or \"https\".")
        }
        guard headers.first(name: ":method") == "POST" else {
            return refuse(.invalidArgument, ":method header is expected to be present and have a value of \"POST\".")
        }
        let encodings = headers[canonicalForm: "grpc-encoding"]
        if let encoding = encodings.first, encodings.count > 1 || encoding != "identity" {
            return refuse(.unimplemented, "\(encoding) compression is not supported; supported algorithms are listed in grpc-accept-encoding")
        }
        // "/package.Service/Method"; a path of any other shape names no method, and the router says so.
        let name = path.utf8.first == UInt8(ascii: "/") ? String(path.dropFirst()) : path
        guard let slash = name.lastIndex(of: "/") else {
            return .success(MethodDescriptor(fullyQualifiedService: name, method: ""))
        }
        return .success(MethodDescriptor(fullyQualifiedService: String(name[..<slash]), method: String(name[name.index(after: slash)...])))
    }

    struct Refusal: Error {
        let headers: HPACKHeaders
    }

    /// Every header as metadata, as grpc-swift's transport gives it: `grpc-timeout` among them
    /// for the executor's deadline, `-bin` values decoded from base64.
    static func metadata(_ headers: HPACKHeaders) -> Metadata {
        var metadata = Metadata()
        metadata.reserveCapacity(headers.count)
        for (name, value, _) in headers {
            if name.hasSuffix("-bin"), let bytes = GRPCWire.decodeBase64(value) {
                metadata.addBinary(bytes, forKey: name)
            } else {
                metadata.addString(value, forKey: name)
            }
        }
        return metadata
    }

    private static func describe(_ address: SocketAddress?) -> String {
        switch address {
        case .v4(let v4)?: "ipv4:\(v4.host):\(address?.port ?? 0)"
        case .v6(let v6)?: "ipv6:[\(v6.host)]:\(address?.port ?? 0)"
        case .unixDomainSocket?: "unix:\(address?.pathname ?? "")"
        case nil: "unknown"
        }
    }
}
