import HTTPTypes
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTPTypes
import ServiceKit

/// How long a client may take, so idle and slow connections cannot hold the edge's sockets:
///
/// - edge.idle-timeout-seconds (number, default 60): waiting for a request on an open connection
/// - edge.header-timeout-seconds (number, default 10): from a request's first byte to its whole head
/// - edge.body-timeout-seconds (number, default 300): from the head to the end of the body (an
///   upload of 50 MB has five minutes)
struct ClientTimeouts: Sendable {
    var idle: TimeAmount
    var header: TimeAmount
    var body: TimeAmount

    init(_ configuration: Configuration) throws {
        idle = .milliseconds(Int64(try configuration.positiveSeconds("edge.idle-timeout-seconds", default: 60) * 1000))
        header = .milliseconds(Int64(try configuration.positiveSeconds("edge.header-timeout-seconds", default: 10) * 1000))
        body = .milliseconds(Int64(try configuration.positiveSeconds("edge.body-timeout-seconds", default: 300) * 1000))
    }
}

/// Hummingbird's HTTP/1 channel with `ClientTimeouts` enforced on every connection: a connection
/// that sends nothing, drips its head a line at a time, or trickles its body is closed when its
/// time is up. One handler sees the raw bytes (a request has begun), one the decoded parts (its
/// head and body are in, its response is out); they share the connection's clock.
struct TimedHTTP1Channel: HTTPChannelHandler {
    typealias Value = HTTP1Channel.Value

    let inner: HTTP1Channel
    let timeouts: ClientTimeouts

    var responder: HTTPChannelHandler.Responder { inner.responder }

    static func builder(_ timeouts: ClientTimeouts) -> HTTPServerBuilder {
        HTTPServerBuilder { responder in
            TimedHTTP1Channel(inner: HTTP1Channel(responder: responder, configuration: .init(additionalChannelHandlers: [])),
                              timeouts: timeouts)
        }
    }

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        let clock = ConnectionClock(channel: channel, timeouts: timeouts)
        // The parts handler goes where Hummingbird puts additional handlers: after the HTTP codecs.
        let http = HTTP1Channel(responder: inner.responder, configuration: .init(additionalChannelHandlers: [RequestPartsHandler(clock: clock)]))
        return channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(RequestStartHandler(clock: clock), position: .first)
            clock.waitForRequest()
        }.flatMap {
            http.setup(channel: channel, logger: logger)
        }
    }

    func handle(value: Value, logger: Logger) async {
        await inner.handle(value: value, logger: logger)
    }
}

/// One connection's deadline: what it is waiting for and when that wait ends. Used only on the
/// connection's event loop.
final class ConnectionClock: @unchecked Sendable {
    enum Phase { case idle, head, body, responding }

    private let channel: any Channel
    private let timeouts: ClientTimeouts
    private(set) var phase = Phase.idle
    private var deadline: Scheduled<Void>?

    init(channel: any Channel, timeouts: ClientTimeouts) {
        self.channel = channel
        self.timeouts = timeouts
    }

    func waitForRequest() { enter(.idle, within: timeouts.idle) }
    func requestBegan() { if phase == .idle { enter(.head, within: timeouts.header) } }
    func headReceived() { enter(.body, within: timeouts.body) }
    func bodyReceived() { enter(.responding, within: nil) }
    func responseSent() { waitForRequest() }

    private func enter(_ phase: Phase, within limit: TimeAmount?) {
        self.phase = phase
        deadline?.cancel()
        deadline = limit.map { limit in
            channel.eventLoop.scheduleTask(in: limit) { [channel] in channel.close(promise: nil) }
        }
    }

    func stop() {
        deadline?.cancel()
        deadline = nil
    }
}

/// Sees the first byte of each request.
final class RequestStartHandler: ChannelInboundHandler, RemovableChannelHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let clock: ConnectionClock

    init(clock: ConnectionClock) { self.clock = clock }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        clock.requestBegan()
        context.fireChannelRead(data)
    }

    func channelInactive(context: ChannelHandlerContext) {
        clock.stop()
        context.fireChannelInactive()
    }
}

/// Sees each request's head and end, and each response's end.
final class RequestPartsHandler: ChannelDuplexHandler, RemovableChannelHandler, @unchecked Sendable {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let clock: ConnectionClock

    init(clock: ConnectionClock) { self.clock = clock }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head: clock.headReceived()
        case .end: clock.bodyReceived()
        case .body: break
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) { clock.responseSent() }
        context.write(data, promise: promise)
    }
}
