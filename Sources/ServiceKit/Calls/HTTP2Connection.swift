import GRPCCore
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP2
import NIOPosix

/// One HTTP/2 connection to a service, opened when a call first needs it and opened again after
/// it closes or the server sends GOAWAY. After a failed attempt the next waits (50 ms, doubling
/// up to 2 s), so a service that is down is not hammered by every call.
final class HTTP2Connection: Sendable {
    struct Ready: Sendable {
        let channel: any Channel
        /// The connection's calls; used on `channel`'s event loop only.
        let streams: UnaryStreams
    }

    private enum State {
        case idle(failures: Int, retryAt: NIODeadline)
        case connecting(EventLoopFuture<Ready>)
        case ready(Ready)
    }

    let host: String
    let port: Int
    private let eventLoop: any EventLoop
    private let state: NIOLockedValueBox<State>

    init(host: String, port: Int, eventLoop: any EventLoop) {
        self.host = host
        self.port = port
        self.eventLoop = eventLoop
        state = NIOLockedValueBox(.idle(failures: 0, retryAt: .uptimeNanoseconds(0)))
    }

    /// The open connection, without waiting, when there is one.
    var current: Ready? {
        state.withLockedValue { state in
            if case .ready(let ready) = state, ready.channel.isActive { return ready }
            return nil
        }
    }

    /// The open connection, or one being opened; a connection that failed recently waits for
    /// its backoff first.
    func ready() -> EventLoopFuture<Ready> {
        let (future, started) = state.withLockedValue { state -> (EventLoopFuture<Ready>, Bool) in
            switch state {
            case .ready(let ready) where ready.channel.isActive:
                return (eventLoop.makeSucceededFuture(ready), false)
            case .connecting(let future):
                return (future, false)
            case .ready:
                let future = connect(after: .now())
                state = .connecting(future)
                return (future, true)
            case .idle(_, let retryAt):
                let future = connect(after: retryAt)
                state = .connecting(future)
                return (future, true)
            }
        }
        // Outside the lock: a future that is already complete runs its callbacks at once.
        if started {
            future.whenComplete { result in
                self.state.withLockedValue { state in
                    switch result {
                    case .success(let ready): state = .ready(ready)
                    case .failure:
                        let failures: Int
                        if case .idle(let before, _) = state { failures = before + 1 } else { failures = 1 }
                        let backoff = min(2_000, 50 << min(failures - 1, 6))
                        state = .idle(failures: failures, retryAt: .now() + .milliseconds(Int64(backoff)))
                    }
                }
            }
        }
        return future
    }

    /// Forgets `channel` (closed, or draining after GOAWAY) so the next call opens another.
    func retire(_ channel: any Channel) {
        state.withLockedValue { state in
            if case .ready(let ready) = state, ready.channel === channel {
                state = .idle(failures: 0, retryAt: .uptimeNanoseconds(0))
            }
        }
    }

    func close() {
        let channel: (any Channel)? = state.withLockedValue { state in
            defer { state = .idle(failures: 0, retryAt: .uptimeNanoseconds(0)) }
            if case .ready(let ready) = state { return ready.channel }
            return nil
        }
        channel?.close(promise: nil)
    }

    private func connect(after start: NIODeadline) -> EventLoopFuture<Ready> {
        let promise = eventLoop.makePromise(of: Ready.self)
        let (host, port) = (self.host, self.port)
        eventLoop.scheduleTask(deadline: start) {
            ClientBootstrap(group: self.eventLoop)
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .connectTimeout(.seconds(5))
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        var connection = NIOHTTP2Handler.ConnectionConfiguration()
                        connection.initialSettings = [
                            HTTP2Setting(parameter: .maxConcurrentStreams, value: 1000),
                            HTTP2Setting(parameter: .maxHeaderListSize, value: 1 << 16),
                            HTTP2Setting(parameter: .initialWindowSize, value: UnaryStreams.windows.stream),
                            HTTP2Setting(parameter: .enablePush, value: 0),
                        ]
                        // Our headers are built by GRPCWire and read by UnaryCall; checking every
                        // header block's names and values again costs each call more than it guards.
                        connection.headerBlockValidation = .disabled
                        let streams = UnaryStreams { [weak self] in self?.retire(channel) }
                        try channel.pipeline.syncOperations.addHandler(NIOHTTP2Handler(mode: .client, connectionConfiguration: connection))
                        try channel.pipeline.syncOperations.addHandler(streams)
                    }
                }
                .connect(host: host, port: port)
                .flatMapThrowing { channel in
                    Ready(channel: channel, streams: try channel.pipeline.syncOperations.handler(type: UnaryStreams.self))
                }
                .cascade(to: promise)
        }
        return promise.futureResult
    }
}
