import NIOHTTP2

/// The receive windows of an HTTP/2 connection whose handler reads the frames itself, without
/// NIO's stream multiplexer (which would give the windows back for it): the lean client's
/// `UnaryStreams` and the server's `ServerStreams`. Both consume what they read at once, so what
/// was read is given back: the connection's window once half of it is used, a stream's once half
/// of its window has been read.
struct ReceiveWindows {
    /// HTTP/2's own initial connection window, before the first WINDOW_UPDATE.
    static let initialConnection = 65_535

    /// The connection's window, widened to this when it opens.
    let connection: Int
    /// Each stream's window: what the handler's SETTINGS_INITIAL_WINDOW_SIZE says.
    let stream: Int

    /// The WINDOW_UPDATE that widens the connection's window from HTTP/2's initial one, sent
    /// once the HTTP/2 handler has written the preface.
    var widening: HTTP2Frame {
        HTTP2Frame(streamID: .rootStream, payload: .windowUpdate(windowSizeIncrement: connection - Self.initialConnection))
    }

    /// The connection's top-up when `event` says half of its window is used. The HTTP/2
    /// handler's own count of what the peer may still send is the measure: it includes DATA on
    /// streams already reset, which never reach the handler, so the window cannot leak away on a
    /// long-lived connection.
    func topUp(after event: Any) -> HTTP2Frame? {
        guard let window = event as? NIOHTTP2WindowUpdatedEvent, window.streamID == .rootStream,
              let remaining = window.inboundWindowSize, remaining <= connection / 2 else { return nil }
        return HTTP2Frame(streamID: .rootStream, payload: .windowUpdate(windowSizeIncrement: connection - remaining))
    }

    /// The stream's window given back once half of it has been read; `unacknowledged` counts
    /// what was read since the last time.
    func giveBack(_ data: HTTP2Frame.FramePayload.Data, on streamID: HTTP2StreamID, unacknowledged: inout Int) -> HTTP2Frame? {
        unacknowledged += data.flowControlledLength
        guard unacknowledged >= stream / 2 else { return nil }
        defer { unacknowledged = 0 }
        return HTTP2Frame(streamID: streamID, payload: .windowUpdate(windowSizeIncrement: unacknowledged))
    }
}

private extension HTTP2Frame.FramePayload.Data {
    /// What a DATA frame takes from the windows: its bytes and its padding (RFC 9113, 6.9).
    var flowControlledLength: Int {
        let bytes = switch data {
        case .byteBuffer(let buffer): buffer.readableBytes
        case .fileRegion(let region): region.readableBytes
        }
        return bytes + (paddingBytes.map { $0 + 1 } ?? 0)
    }
}
