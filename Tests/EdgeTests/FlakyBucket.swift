import AtelierTestSupport
import Hummingbird
import Synchronization

/// A stand-in for an S3-compatible bucket that only deletes: while `down`, every DELETE gets
/// S3's 503 SlowDown, afterwards 204 as S3 answers. Keys deleted are recorded.
final class FlakyBucket: Sendable {
    private final class State: Sendable {
        let down = Atomic(true)
        let deleted = Mutex<[String]>([])
    }

    private let state: State
    private let server: LocalHTTPServer

    var port: Int { server.port }
    var deleted: [String] { state.deleted.withLock { $0 } }

    /// The store comes back: deletes succeed from now on.
    func recover() { state.down.store(false, ordering: .relaxed) }

    static func start(bucket: String) async -> FlakyBucket {
        let state = State()
        let prefix = "/\(bucket)/"
        let router = Router()
        router.delete("\(prefix)**") { request, _ in
            if state.down.load(ordering: .relaxed) {
                return Response(status: .serviceUnavailable, headers: [.contentType: "application/xml"], body: .init(byteBuffer: ByteBuffer(
                    string: "<Error><Code>SlowDown</Code><Message>Reduce your request rate.</Message></Error>")))
            }
            state.deleted.withLock { $0.append(String(request.uri.path.dropFirst(prefix.count))) }
            return Response(status: .noContent)
        }
        return FlakyBucket(state: state, server: await LocalHTTPServer.start(router, label: "flaky-bucket"))
    }

    private init(state: State, server: LocalHTTPServer) {
        self.state = state
        self.server = server
    }

    func stop() async { await server.stop() }
}
