import GRPCCore
import NIOCore
import NIOHPACK
import NIOHTTP2

/// One unary call on its HTTP/2 stream: the request's headers and its one message, then the
/// reply's headers, its message and the trailers read from the stream's frames, and `promise`
/// completed once. It is no channel of its own: `UnaryStreams`, on the connection's event loop,
/// opens its stream, hands it its frames and resets the stream when it says so.
final class UnaryCall: @unchecked Sendable {
    // @unchecked: after `init` every property is used on the connection's event loop only.

    /// What the stream should do after a frame was read.
    enum Next {
        case open
        case finished
        /// Finished early (a reply above the limit, say): RST_STREAM CANCEL tells the server to stop.
        case finishedReset
    }

    let headers: HPACKHeaders
    private(set) var body: ByteBuffer?
    private let promise: EventLoopPromise<UnaryReply>
    /// Set when `UnaryStreams` opens the stream.
    var streamID: HTTP2StreamID?
    /// DATA bytes read and not yet given back to the server's send window.
    var unacknowledgedBytes = 0
    private var httpStatus: Int?
    private var replyMetadata: Metadata?
    private var reader = GRPCWire.MessageReader(limit: GRPCWire.maxReplyBytes)
    private(set) var done = false

    init(headers: HPACKHeaders, body: ByteBuffer, promise: EventLoopPromise<UnaryReply>) {
        self.headers = headers
        self.body = body
        self.promise = promise
    }

    /// The request's message, handed out once when the stream opens.
    func takeBody() -> ByteBuffer? {
        defer { body = nil }
        return body
    }

    /// Has the server started answering? Until then a refused or dropped stream was never processed.
    var answered: Bool { httpStatus != nil }

    func receive(_ payload: HTTP2Frame.FramePayload) -> Next {
        switch payload {
        case .headers(let frame):
            if httpStatus == nil {
                // The reply's headers; with END_STREAM they are its trailers too ("trailers-only").
                httpStatus = frame.headers.first(name: ":status").flatMap { Int($0) } ?? 0
                if httpStatus != 200 || !(frame.headers.first(name: "content-type")?.hasPrefix("application/grpc") ?? false) {
                    if frame.endStream || frame.headers.first(name: "grpc-status") == nil {
                        finish(.failure(GRPCWire.error(trailers: frame.headers, httpStatus: httpStatus)
                            ?? RPCError(code: .internalError, message: "the reply is not gRPC (HTTP \(httpStatus ?? 0))")))
                        return frame.endStream ? .finished : .finishedReset
                    }
                }
                replyMetadata = GRPCWire.metadata(frame.headers)
                if frame.endStream {
                    complete(trailers: frame.headers)
                    return .finished
                }
                return .open
            }
            complete(trailers: frame.headers)
            return frame.endStream ? .finished : .finishedReset
        case .data(let frame):
            guard case .byteBuffer(let bytes) = frame.data else { return .open }
            do {
                try reader.append(bytes)
            } catch {
                finish(.failure(error))
                return frame.endStream ? .finished : .finishedReset
            }
            if frame.endStream {
                finish(.failure(RPCError(code: .internalError, message: "the reply ended without a status")))
                return .finished
            }
            return .open
        case .rstStream(let code) where code == .refusedStream && httpStatus == nil:
            // Refused before the server read it: safe to send again.
            fail(Unprocessed(error: RPCError(code: .unavailable, message: "the server refused the stream")))
            return .finished
        case .rstStream(let code):
            let rpcCode: RPCError.Code = switch code {
            case .cancel: .cancelled
            case .enhanceYourCalm: .resourceExhausted
            default: .internalError
            }
            finish(.failure(RPCError(code: rpcCode, message: "the server reset the stream (\(code))")))
            return .finished
        default:
            return .open
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

    /// Ends the call with `error` (an `RPCError`, or `Unprocessed` when it may go out again),
    /// unless it has already finished.
    func fail(_ error: any Error) {
        guard !done else { return }
        done = true
        promise.fail(error)
    }

    private func finish(_ result: Result<UnaryReply, RPCError>) {
        guard !done else { return }
        done = true
        promise.completeWith(result.mapError { $0 as any Error })
    }
}
