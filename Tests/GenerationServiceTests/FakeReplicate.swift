import AtelierTestSupport
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import HTTPTypes
import Hummingbird
import Synchronization
@testable import GenerationService

/// A local stand-in for api.replicate.com that checks what Replicate checks (method, path, the
/// bearer token, a JSON body with a version and an input) and answers with its shapes: a
/// prediction that is `starting`, then `processing`, then `succeeded` with output URLs served
/// by this fake (they stand in for replicate.delivery). With a webhook in the request it delivers
/// the finished prediction there, signed, twice under one `webhook-id` (Replicate retries).
/// `failNext` makes the next requests fail as Replicate does: a 429 with its throttling detail,
/// a 500, a reply that is not JSON, or no answer in time.
final class FakeReplicate: Sendable {
    static let token = "r8_fake_token_0123456789"
    static let webhookSecret = "whsec_" + Data("replicate-fake-secret-0123456789".utf8).base64EncodedString()

    enum Failure: Sendable { case throttled, serverError, malformed, slow, predictionFailed }

    struct Call: Sendable {
        let method: String
        let path: String
        let authorization: String?
        let body: [String: any Sendable]
    }

    struct Delivery: Sendable {
        let status: Int
        let duplicate: Bool
    }

    final class State: Sendable {
        let calls = Mutex<[Call]>([])
        let failures = Mutex<[Failure]>([])
        /// Polls each prediction answers before it finishes.
        let pollsBeforeDone = Mutex(2)
        let polls = Mutex<[String: Int]>([:])
        let canceled = Mutex<Set<String>>([])
        let predictions = Mutex<[String: [String: any Sendable]]>([:])
        /// Where webhooks go: the edge the test started (the configured URL's host is a placeholder).
        let webhookPort = Mutex<Int?>(nil)
        let deliveries = Mutex<[Delivery]>([])
        /// With a webhook, how long a prediction takes to finish on its own (nil: when polled).
        let webhookFinishAfter = Mutex<Duration?>(nil)
        /// The wait a 429 asks for.
        let throttleSeconds = Mutex(7)
    }

    let state: State
    private let server: LocalHTTPServer
    var port: Int { server.port }
    var baseURL: String { "http://127.0.0.1:\(port)/v1" }
    var calls: [Call] { state.calls.withLock { $0 } }
    var deliveries: [Delivery] { state.deliveries.withLock { $0 } }

    func failNext(_ failures: Failure...) { state.failures.withLock { $0 += failures } }
    func deliverWebhooks(toPort port: Int) { state.webhookPort.withLock { $0 = port } }

    static func start() async -> FakeReplicate {
        let state = State()
        let router = Router()
        let portBox = Mutex(0)
        router.post("/v1/predictions") { request, _ in try await create(request, state, port: portBox.withLock { $0 }) }
        router.get("/v1/predictions/{id}") { request, context in
            try await poll(request, id: context.parameters.get("id") ?? "", state, port: portBox.withLock { $0 })
        }
        router.post("/v1/predictions/{id}/cancel") { request, context in
            let id = context.parameters.get("id") ?? ""
            record(request, [:], state)
            state.canceled.withLock { _ = $0.insert(id) }
            return json(200, ["id": id, "status": "canceled"])
        }
        router.get("/files/{name}") { _, context in
            let name = context.parameters.get("name") ?? ""
            let bytes = name.hasSuffix(".mp4") ? FakeFiles.mp4(seconds: 4.2) : FakeFiles.png(seed: name.hashValue)
            return Response(status: .ok, headers: [.contentType: name.hasSuffix(".mp4") ? "video/mp4" : "image/png"],
                            body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
        }
        let server = await LocalHTTPServer.start(router, label: "fake-replicate")
        portBox.withLock { $0 = server.port }
        return FakeReplicate(state: state, server: server)
    }

    /// The router's closures hold the same state object.
    private init(state: State, server: LocalHTTPServer) {
        self.state = state
        self.server = server
    }

    func stop() async { await server.stop() }

    // MARK: handlers

    private static func record(_ request: Request, _ body: [String: any Sendable], _ state: State) {
        state.calls.withLock {
            $0.append(Call(method: request.method.rawValue, path: request.uri.path, authorization: request.headers[.authorization], body: body))
        }
    }

    /// A failure queued by the test, answered as Replicate answers it; nil when none is queued.
    private static func failure(_ state: State) async throws -> Response? {
        // A failed prediction is the poll's to answer: it stays queued for it.
        guard let next = state.failures.withLock({ $0.isEmpty || $0[0] == .predictionFailed ? nil : $0.removeFirst() }) else { return nil }
        switch next {
        case .throttled:
            let seconds = state.throttleSeconds.withLock { $0 }
            var response = json(429, ["detail": "Request was throttled. Your rate limit resets in ~\(seconds)s.", "status": 429])
            response.headers[HTTPField.Name("Retry-After")!] = String(seconds)
            return response
        case .serverError:
            return json(500, ["type": "about:blank", "title": "Internal Server Error", "status": 500, "detail": "something went wrong"])
        case .malformed:
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: "<html>bad gateway</html>")))
        case .slow:
            try await Task.sleep(for: .seconds(5))
            return json(500, ["detail": "too late"])
        case .predictionFailed:
            return nil  // not reached: left for the poll
        }
    }

    private static func create(_ request: Request, _ state: State, port: Int) async throws -> Response {
        let raw = try await request.body.collect(upTo: 1 << 22)
        let body = (try? JSONSerialization.jsonObject(with: Data(buffer: raw))) as? [String: Any] ?? [:]
        record(request, body.mapValues { "\($0)" }, state)
        guard request.headers[.authorization] == "Bearer \(token)" else {
            return json(401, ["title": "Unauthenticated", "detail": "You did not pass a valid authentication token", "status": 401])
        }
        guard request.headers[.contentType]?.hasPrefix("application/json") == true, body["version"] is String,
              let input = body["input"] as? [String: Any] else {
            return json(422, ["title": "Input validation failed", "detail": "version and input are required", "status": 422])
        }
        if let failed = try await failure(state) { return failed }
        let id = "p\(UUID().uuidString.prefix(12).lowercased())"
        var prediction: [String: any Sendable] = [
            "id": id, "version": body["version"] as? String ?? "", "status": "starting", "output": NSNull(), "error": NSNull(),
            "input": input.mapValues { "\($0)" }, "created_at": "2026-12-02T00:00:00Z",
            "urls": ["get": "http://127.0.0.1:\(port)/v1/predictions/\(id)", "cancel": "http://127.0.0.1:\(port)/v1/predictions/\(id)/cancel"],
        ]
        if let webhook = body["webhook"] as? String { prediction["webhook"] = webhook }
        let outputs = input["input_image"] != nil ? 1 : (input["num_outputs"] as? Int ?? 1)
        prediction["outputs"] = outputs
        prediction["video"] = input["input_image"] != nil
        state.predictions.withLock { $0[id] = prediction }
        // With a webhook, the prediction finishes by itself a moment later, as Replicate's do.
        if let delay = state.webhookFinishAfter.withLock({ $0 }), prediction["webhook"] != nil {
            Task {
                try? await Task.sleep(for: delay)
                _ = await finish(id, state, port: port)
            }
        }
        return json(201, prediction)
    }

    private static func poll(_ request: Request, id: String, _ state: State, port: Int) async throws -> Response {
        record(request, [:], state)
        guard request.headers[.authorization] == "Bearer \(token)" else { return json(401, ["detail": "Unauthenticated", "status": 401]) }
        if let failed = try await failure(state) { return failed }
        guard var prediction = state.predictions.withLock({ $0[id] }) else { return json(404, ["detail": "Not found.", "status": 404]) }
        let count = state.polls.withLock { polls -> Int in
            polls[id, default: 0] += 1
            return polls[id]!
        }
        let needed = state.pollsBeforeDone.withLock { $0 }
        if state.canceled.withLock({ $0.contains(id) }) {
            prediction["status"] = "canceled"
        } else if count < needed {
            prediction["status"] = "processing"
        } else if state.failures.withLock({ $0.first == .predictionFailed ? $0.removeFirst() : nil }) != nil {
            prediction["status"] = "failed"
            prediction["error"] = "CUDA out of memory"
        } else {
            prediction = await finish(id, state, port: port) ?? prediction
        }
        state.predictions.withLock { $0[id] = prediction }
        return json(200, prediction)
    }

    /// Marks the prediction succeeded with its outputs; with a webhook, delivers it (once).
    private static func finish(_ id: String, _ state: State, port: Int) async -> [String: any Sendable]? {
        guard var prediction = state.predictions.withLock({ $0[id] }) else { return nil }
        prediction["status"] = "succeeded"
        let video = prediction["video"] as? Bool ?? false
        let outputs = (0..<(prediction["outputs"] as? Int ?? 1)).map { "http://127.0.0.1:\(port)/files/\(id)-\($0).\(video ? "mp4" : "png")" }
        prediction["output"] = video ? outputs[0] : outputs
        prediction["metrics"] = ["predict_time": 1.5]
        let deliver = prediction["webhook"] != nil && prediction["delivered"] == nil
        if deliver { prediction["delivered"] = true }
        state.predictions.withLock { $0[id] = prediction }
        if deliver { await Self.deliver(prediction, state) }
        return prediction
    }

    /// The finished prediction, signed, sent twice under one webhook-id.
    private static func deliver(_ prediction: [String: any Sendable], _ state: State) async {
        guard let port = state.webhookPort.withLock({ $0 }) else { return }
        var body = prediction
        body["delivered"] = nil
        let payload = Array((try? JSONSerialization.data(withJSONObject: body)) ?? Data())
        let webhookID = "msg_\(UUID().uuidString.prefix(8))"
        let timestamp = String(Int(Date().timeIntervalSince1970))
        let signature = ReplicateWebhooks.sign(payload: payload, id: webhookID, timestamp: timestamp, secret: webhookSecret)
        for _ in 0..<2 {
            var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)/api/webhooks/replicate")!)
            request.httpMethod = "POST"
            request.httpBody = Data(payload)
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
            request.setValue(webhookID, forHTTPHeaderField: "webhook-id")
            request.setValue(timestamp, forHTTPHeaderField: "webhook-timestamp")
            request.setValue(signature, forHTTPHeaderField: "webhook-signature")
            let reply = try? await URLSession.shared.data(for: request)
            let status = (reply?.1 as? HTTPURLResponse)?.statusCode ?? 0
            let answer = reply.flatMap { (try? JSONSerialization.jsonObject(with: $0.0)) as? [String: Any] }
            state.deliveries.withLock { $0.append(Delivery(status: status, duplicate: answer?["duplicate"] as? Bool ?? false)) }
        }
    }

    static func json(_ status: Int, _ object: Any) -> Response {
        let data = (try? JSONSerialization.data(withJSONObject: object)) ?? Data()
        return Response(status: HTTPResponse.Status(code: status), headers: [.contentType: "application/json"],
                        body: .init(byteBuffer: ByteBuffer(bytes: Array(data))))
    }
}

/// Files the fakes serve as provider outputs: real PNGs (deflate-compressed, as providers write
/// them) and an MP4 whose movie header says how long it is.
enum FakeFiles {
    static func png(seed: Int, width: Int = 64, height: Int = 80) -> [UInt8] {
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        for i in 0..<(width * height) {
            pixels[i * 3] = UInt8(truncatingIfNeeded: i &+ seed)
            pixels[i * 3 + 1] = UInt8(truncatingIfNeeded: i / width &* 3)
            pixels[i * 3 + 2] = UInt8(truncatingIfNeeded: seed >> 3)
        }
        return PNGEncoder.encode(width: width, height: height, pixels: pixels, compressed: true)
    }

    /// `ftyp`, then `moov` holding a version-0 `mvhd` with a time scale of 1000.
    static func mp4(seconds: Double) -> [UInt8] {
        func box(_ type: String, _ body: [UInt8]) -> [UInt8] {
            var out: [UInt8] = []
            out.appendBigEndian(UInt32(body.count + 8))
            return out + Array(type.utf8) + body
        }
        var mvhd: [UInt8] = [0, 0, 0, 0]  // version 0, no flags
        mvhd.appendBigEndian(0)  // created
        mvhd.appendBigEndian(0)  // modified
        mvhd.appendBigEndian(1000)  // time scale
        mvhd.appendBigEndian(UInt32(seconds * 1000))
        mvhd += [UInt8](repeating: 0, count: 80)
        return box("ftyp", Array("isom".utf8) + [0, 0, 2, 0]) + box("moov", box("mvhd", mvhd))
    }
}
