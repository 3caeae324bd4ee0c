import AtelierProtos
import GRPCCore
import Hummingbird
import ServiceKit

/// `/healthz` says the edge is alive; `/readyz` says every service behind it answers SERVING.
struct Probes: Sendable {
    let clients: [ServiceName: ServiceClient]

    func readiness() async -> Response {
        let statuses = await withTaskGroup(of: (ServiceName, String).self) { group in
            for (name, client) in clients {
                group.addTask {
                    // A connection still being made (the edge just started) is waited for, within 3 s.
                    let probe = ServiceClient(target: client.target, channel: client.channel, timeout: .seconds(3))
                    do {
                        let reply = try await probe.call(Grpc_Health_V1_Health.Method.Check.self, .with { $0.service = "" }, metadata: [:])
                        return (name, reply.status == .serving ? "SERVING" : "NOT_SERVING")
                    } catch {
                        return (name, "UNREACHABLE")
                    }
                }
            }
            var statuses: [(ServiceName, String)] = []
            for await status in group { statuses.append(status) }
            return statuses.sorted { $0.0.rawValue < $1.0.rawValue }
        }
        let ready = statuses.allSatisfy { $0.1 == "SERVING" }
        var response = Self.json(.object([
            ("status", .string(ready ? "ready" : "not ready")),
            ("services", .object(statuses.map { ($0.0.rawValue, .string($0.1)) })),
        ]))
        response.status = ready ? .ok : .serviceUnavailable
        return response
    }

    static func json(_ value: JSONValue) -> Response {
        Response(status: .ok, headers: [.contentType: "application/json; charset=utf-8"],
                 body: .init(byteBuffer: ByteBuffer(bytes: value.serialized())))
    }

    /// The probes' entries in the OpenAPI document.
    static var openAPIPaths: [(String, JSONValue)] {
        func get(_ id: String, _ summary: String, _ properties: [(String, JSONValue)], extra: [(String, JSONValue)] = []) -> JSONValue {
            let schema: JSONValue = .object([("type", .string("object")), ("properties", .object(properties))])
            let ok: JSONValue = .object([("description", .string("OK")),
                                         ("content", .object([("application/json", .object([("schema", schema)]))]))])
            return .object([("get", .object([
                ("operationId", .string(id)), ("tags", .array([.string("Operations")])), ("summary", .string(summary)),
                ("responses", .object([("200", ok)] + extra)),
            ]))])
        }
        let string: JSONValue = .object([("type", .string("string"))])
        let services: JSONValue = .object([("type", .string("object")), ("additionalProperties", string)])
        let unavailable: JSONValue = .object([("description", .string("A service is not serving")),
            ("content", .object([("application/json", .object([("schema", .object([("type", .string("object")),
                ("properties", .object([("status", string), ("services", services)]))]))]))]))])
        return [
            ("/healthz", get("Healthz", "The edge is alive", [("status", string)])),
            ("/readyz", get("Readyz", "Every service answers SERVING", [("status", string), ("services", services)],
                            extra: [("503", unavailable)])),
            ("/hello", get("Hello", "A trivial response, the baseline for benchmarks", [("message", string)])),
        ]
    }
}
