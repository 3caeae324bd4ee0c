import AtelierProtos
import GRPCCore
import Synchronization

/// `grpc.health.v1.Health` for one server: the empty service name and each hosted service report
/// SERVING once the server is listening and NOT_SERVING from the start of shutdown, so a load
/// balancer stops sending work before the server drains.
public final class HealthService: Grpc_Health_V1_Health.SimpleServiceProtocol, Sendable {
    public typealias Status = Grpc_Health_V1_HealthCheckResponse.ServingStatus

    private struct State {
        var statuses: [String: Status]
        var watchers: [Int: (service: String, continuation: AsyncStream<Status>.Continuation)] = [:]
        var nextWatcher = 0
    }

    private let state: Mutex<State>

    public init(services: [String]) {
        var statuses: [String: Status] = ["": .notServing]
        for service in services { statuses[service] = .notServing }
        self.state = Mutex(State(statuses: statuses))
    }

    /// Sets every known service, and the server as a whole, to `status`.
    public func setAll(_ status: Status) {
        let toNotify = state.withLock { state in
            for key in state.statuses.keys { state.statuses[key] = status }
            return state.watchers.values.map(\.continuation)
        }
        for continuation in toNotify { continuation.yield(status) }
    }

    public func status(of service: String) -> Status? {
        state.withLock { $0.statuses[service] }
    }

    public func check(request: Grpc_Health_V1_HealthCheckRequest, context: ServerContext) async throws -> Grpc_Health_V1_HealthCheckResponse {
        guard let status = status(of: request.service) else {
            throw RPCError(code: .notFound, message: "unknown service '\(request.service)'")
        }
        return .with { $0.status = status }
    }

    public func watch(
        request: Grpc_Health_V1_HealthCheckRequest,
        response: RPCWriter<Grpc_Health_V1_HealthCheckResponse>,
        context: ServerContext
    ) async throws {
        let (stream, continuation) = AsyncStream<Status>.makeStream()
        let (id, current) = state.withLock { state in
            let id = state.nextWatcher
            state.nextWatcher += 1
            state.watchers[id] = (request.service, continuation)
            return (id, state.statuses[request.service] ?? .serviceUnknown)
        }
        defer { _ = state.withLock { $0.watchers.removeValue(forKey: id) } }
        try await response.write(.with { $0.status = current })
        var last = current
        // Ends when the client cancels the call, which cancels this task and finishes the stream.
        for await status in stream where status != last && self.status(of: request.service) != nil {
            last = status
            try await response.write(.with { $0.status = status })
        }
    }
}
