import Hummingbird
import Logging
import ServiceLifecycle
import Synchronization

/// A stand-in for an S3-compatible bucket that only deletes: while `down`, every DELETE gets
/// S3's 503 SlowDown, afterwards 204 as S3 answers. Keys deleted are recorded.
final class FlakyBucket: Sendable {
    let down = Atomic(true)
    private let deletedKeys = Mutex<[String]>([])
    private let group: ServiceGroup
    private let task: Task<Void, any Error>
    let port: Int

    var deleted: [String] { deletedKeys.withLock { $0 } }

    static func start(bucket: String) async throws -> FlakyBucket {
        let router = Router()
        let box = Box()
        router.delete("/\(bucket)/**") { request, _ in
            guard let bucket = box.bucket else { return Response(status: .internalServerError) }
            if bucket.down.load(ordering: .relaxed) {
                return Response(status: .serviceUnavailable, headers: [.contentType: "application/xml"],
                                body: .init(byteBuffer: ByteBuffer(string: "<Error><Code>SlowDown</Code><Message>Reduce your request rate.</Message></Error>")))
            }
            bucket.deletedKeys.withLock { $0.append(String(request.uri.path.dropFirst(bucket.prefix.count))) }
            return Response(status: .noContent)
        }
        let (stream, continuation) = AsyncStream.makeStream(of: Int.self)
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                              onServerRunning: { continuation.yield($0.localAddress?.port ?? 0) }, logger: Logger(label: "flaky-bucket"))
        let group = ServiceGroup(configuration: .init(services: [app], logger: Logger(label: "flaky-bucket")))
        let task = Task { try await group.run() }
        var iterator = stream.makeAsyncIterator()
        let port = await iterator.next() ?? 0
        let bucketServer = FlakyBucket(group: group, task: task, port: port, bucket: bucket)
        box.set(bucketServer)
        return bucketServer
    }

    private let prefix: String

    private init(group: ServiceGroup, task: Task<Void, any Error>, port: Int, bucket: String) {
        self.group = group
        self.task = task
        self.port = port
        self.prefix = "/\(bucket)/"
    }

    func stop() async {
        await group.triggerGracefulShutdown()
        _ = try? await task.value
    }

    /// The server's routes exist before the bucket object they report to.
    private final class Box: Sendable {
        private let value = Mutex<FlakyBucket?>(nil)
        var bucket: FlakyBucket? { value.withLock { $0 } }
        func set(_ bucket: FlakyBucket) { value.withLock { $0 = bucket } }
    }
}
