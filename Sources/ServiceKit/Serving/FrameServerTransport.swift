import GRPCCore
import NIOCore
import NIOHTTP2
import NIOPosix
import Synchronization

/// A gRPC server transport on swift-nio-http2 whose calls are frames on the connection
/// (`ServerStreams`), for grpc-swift-2's `GRPCServer`: the server, its router, executor and
/// interceptors stay grpc-swift-2's, and what clients reach is gRPC over HTTP/2 as grpcio,
/// grpcurl and grpc-swift call it (plaintext, identity encoding). It replaces
/// grpc-swift-nio-transport's `HTTP2ServerTransport.Posix`, whose per-stream child channels,
/// async channels and sequences were most of a service's CPU per call.
public final class FrameServerTransport: ServerTransport {
    public typealias Bytes = [UInt8]

    private enum State {
        case idle
        case listening(any Channel)
        case stopping
    }

    let host: String
    let port: Int
    let maxRequestBytes: Int
    private let group: any EventLoopGroup
    private let state = Mutex(State.idle)
    private let address: EventLoopPromise<SocketAddress>
    private let connections = ServerConnections()

    public init(host: String, port: Int, maxRequestBytes: Int, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) {
        self.host = host
        self.port = port
        self.maxRequestBytes = maxRequestBytes
        self.group = group
        self.address = group.any().makePromise(of: SocketAddress.self)
    }

    deinit {
        // A transport that never listened (`atelier migrate`) leaves no caller waiting for a port.
        address.fail(RPCError(code: .unavailable, message: "the server never listened"))
    }

    /// The bound port, once the transport listens.
    public func listeningPort() async throws -> Int {
        try await address.futureResult.get().port ?? 0
    }

    public func listen(streamHandler: @escaping @Sendable (RPCStream<Inbound, Outbound>, ServerContext) async -> Void) async throws {
        let listener = ServerStreams.Listener(handler: streamHandler, maxRequestBytes: maxRequestBytes, connections: connections)
        let settings: HTTP2Settings = [
            HTTP2Setting(parameter: .maxConcurrentStreams, value: 4096),
            HTTP2Setting(parameter: .maxHeaderListSize, value: 16384),
            HTTP2Setting(parameter: .initialWindowSize, value: ServerStreams.streamWindow),
        ]
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            // A client that vanished without closing (its machine gone) is found by the kernel's
            // keepalive probes after two idle hours, as grpc-swift's transport pings after two.
            .childChannelOption(.socketOption(.so_keepalive), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    try sync.addHandler(NIOHTTP2Handler(mode: .server, initialSettings: settings))
                    try sync.addHandler(ServerStreams(listener: listener, eventLoop: channel.eventLoop))
                }
            }
        let channel: any Channel
        do {
            channel = try await bootstrap.bind(host: host, port: port).get()
        } catch {
            address.fail(error)
            throw error
        }
        let stopNow = state.withLock { state -> Bool in
            if case .stopping = state { return true }
            state = .listening(channel)
            return false
        }
        if let bound = channel.localAddress { address.succeed(bound) }
        if stopNow { channel.close(promise: nil) }
        try await withTaskCancellationHandler {
            // Listens until `beginGracefulShutdown` closes the listener; then waits for the
            // connections to finish their calls.
            try? await channel.closeFuture.get()
            await connections.drain()
        } onCancel: {
            channel.close(promise: nil)
            connections.closeAll()
        }
    }

    /// Stops accepting connections, sends GOAWAY on each open one, and lets `listen` return
    /// once their calls have ended.
    public func beginGracefulShutdown() {
        let listening = state.withLock { state -> (any Channel)? in
            defer { state = .stopping }
            if case .listening(let channel) = state { return channel }
            return nil
        }
        listening?.close(promise: nil)
        connections.goAway()
    }
}

/// The open connections of one transport, for GOAWAY at shutdown and for waiting until the
/// last one closes.
final class ServerConnections: Sendable {
    private struct Open: @unchecked Sendable {
        // Touched on `eventLoop` only.
        let streams: ServerStreams
        let eventLoop: any EventLoop
    }

    private struct State {
        var open: [ObjectIdentifier: Open] = [:]
        var goingAway = false
        var drained: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())

    func opened(_ streams: ServerStreams, on eventLoop: any EventLoop) {
        let goAway = state.withLock { state -> Bool in
            state.open[ObjectIdentifier(streams)] = Open(streams: streams, eventLoop: eventLoop)
            return state.goingAway
        }
        if goAway { streams.goAway() }
    }

    func closed(_ streams: ServerStreams) {
        let waiting = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.open.removeValue(forKey: ObjectIdentifier(streams))
            guard state.open.isEmpty else { return [] }
            defer { state.drained = [] }
            return state.drained
        }
        for waiter in waiting { waiter.resume() }
    }

    func goAway() {
        let open = state.withLock { state -> [Open] in
            state.goingAway = true
            return Array(state.open.values)
        }
        for connection in open { connection.eventLoop.execute { connection.streams.goAway() } }
    }

    func closeAll() {
        let open = state.withLock { Array($0.open.values) }
        for connection in open { connection.eventLoop.execute { connection.streams.close() } }
    }

    /// Returns once every connection has closed.
    func drain() async {
        await withCheckedContinuation { continuation in
            let now = state.withLock { state -> Bool in
                if state.open.isEmpty { return true }
                state.drained.append(continuation)
                return false
            }
            if now { continuation.resume() }
        }
    }
}
