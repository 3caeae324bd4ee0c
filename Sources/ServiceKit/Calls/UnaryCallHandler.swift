import GRPCCore
import NIOCore
import NIOHPACK
import NIOHTTP2

/// One unary call on its HTTP/2 stream: writes the request's headers and its one message with
/// END_STREAM when the stream opens, then reads the reply's headers, its message and the
/// trailers, and completes `promise` once. Lives on the connection's event loop; `abort` is how
/// a deadline or a cancelled caller ends it (RST_STREAM CANCEL to the server).
final class UnaryCallHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTP2Frame.FramePayload
    typealias OutboundOut = HTTP2Frame.FramePayload

    private let headers: HPACKHeaders
    private var body: ByteBuffer?
    private let promise: EventLoopPromise<UnaryReply>
    private var context: ChannelHandlerContext?
    private var httpStatus: Int?
    private var replyMetadata: Metadata?
    private var reader = GRPCWire.MessageReader(limit: GRPCWire.maxReplyBytes)
    private var done = false

    init(headers: HPACKHeaders, body: ByteBuffer, promise: EventLoopPromise<UnaryReply>) {
        self.headers = headers
        self.body = body
        self.promise = promise
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        guard let body else { return }
        self.body = nil
        context.write(wrapOutboundOut(.headers(.init(headers: headers))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.data(.init(data: .byteBuffer(body), endStream: true))), promise: nil)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .headers(let frame):
            if httpStatus == nil {
                // The reply's headers; with END_STREAM they are its trailers too ("trailers-only").
                httpStatus = frame.headers.first(name: ":status").flatMap { Int($0) }
                if httpStatus != 200 || !(frame.headers.first(name: "content-type")?.hasPrefix("application/grpc") ?? false) {
                    if frame.endStream || frame.headers.first(name: "grpc-status") == nil {
                        finish(.failure(GRPCWire.error(trailers: frame.headers, httpStatus: httpStatus)
                            ?? RPCError(code: .internalError, message: "the reply is not gRPC (HTTP \(httpStatus ?? 0))")))
                        return
                    }
                }
                replyMetadata = GRPCWire.metadata(frame.headers)
                if frame.endStream { complete(trailers: frame.headers) }
            } else {
                complete(trailers: frame.headers)
            }
        case .data(let frame):
            guard case .byteBuffer(let bytes) = frame.data else { return }
            do {
                try reader.append(bytes)
            } catch {
                finish(.failure(error))
                context.close(promise: nil)
                return
            }
            if frame.endStream { finish(.failure(RPCError(code: .internalError, message: "the reply ended without a status"))) }
        case .rstStream(let code) where code == .refusedStream && httpStatus == nil:
            // Refused before the server read it: safe to send again.
            done = true
            promise.fail(Unprocessed(error: RPCError(code: .unavailable, message: "the server refused the stream")))
        case .rstStream(let code):
            let rpcCode: RPCError.Code = switch code {
            case .cancel: .cancelled
            case .enhanceYourCalm: .resourceExhausted
            default: .internalError
            }
            finish(.failure(RPCError(code: rpcCode, message: "the server reset the stream (\(code))")))
        default:
            break
        }
    }

    private func complete(trailers: HPACKHeaders) {
        if let error = GRPCWire.error(trailers: trailers, httpStatus: httpStatus) {
            finish(.failure(error))
        } else if let message = reader.message {
            finish(.success(UnaryReply(message: message, metadata: replyMetadata ?? [:])))
        } else {
            finish(.failure(RPCError(code: .internalError, message: "the reply carried no message")))
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        finish(.failure(RPCError(code: .unavailable, message: "the connection closed before the reply")))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        finish(.failure(RPCError(code: .unavailable, message: "the call failed on its stream: \(error)")))
        context.close(promise: nil)
    }

    /// Ends the call with `error` and resets its stream, unless it has already finished.
    func abort(_ error: RPCError) {
        guard !done else { return }
        finish(.failure(error))
        context?.close(promise: nil)
    }

    private func finish(_ result: Result<UnaryReply, RPCError>) {
        guard !done else { return }
        done = true
        promise.completeWith(result.mapError { $0 as any Error })
    }
}
