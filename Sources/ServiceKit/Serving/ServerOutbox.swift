import GRPCCore
import NIOCore
import NIOHTTP2
import Synchronization

/// The reply parts of one connection's calls on their way from the calls' tasks to the
/// connection's event loop. A part joins the queue and, when none is on its way, one hop to the
/// loop is scheduled: calls that answer together reach the loop in one hop and leave in one
/// flush, where each part on its own would cost a hop, a wake-up and a write.
final class ServerOutbox: Sendable {
    enum Item: Sendable {
        case part(RPCResponsePart<[UInt8]>)
        /// The call's task ended, or gave up, without a status.
        case abandoned
    }

    private struct State {
        var items: [(HTTP2StreamID, Item)] = []
        var scheduled = false
        /// Until the connection closes.
        var streams: ServerStreams?
    }

    let eventLoop: any EventLoop
    private let state = Mutex(State())

    init(eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    func attach(_ streams: ServerStreams) {
        state.withLock { $0.streams = streams }
    }

    /// The connection closed: what is queued, and whatever comes after, has nowhere to go.
    func detach() {
        state.withLock { state in
            state.streams = nil
            state.items = []
        }
    }

    func send(_ streamID: HTTP2StreamID, _ item: Item) {
        let hop = state.withLock { state -> ServerStreams? in
            guard let streams = state.streams else { return nil }
            state.items.append((streamID, item))
            guard !state.scheduled else { return nil }
            state.scheduled = true
            return streams
        }
        guard let streams = hop else { return }
        eventLoop.execute { streams.deliver(self.take()) }
    }

    private func take() -> [(HTTP2StreamID, Item)] {
        state.withLock { state in
            defer {
                state.items = []
                state.scheduled = false
            }
            return state.items
        }
    }
}
