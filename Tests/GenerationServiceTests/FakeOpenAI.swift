import AtelierTestSupport
import Foundation
import HTTPTypes
import Hummingbird
import Synchronization

/// A local stand-in for api.openai.com: chat completions with a JSON Schema (the answer is an
/// object with the schema's required string fields filled in), image generation (base64 PNGs)
/// and speech (MP3 frames, one a character... of 26 ms), each checking the bearer key and the
/// body's shape. `failNext` queues OpenAI's failures: a 429 `rate_limit_exceeded` with
/// `retry-after-ms`, a 429 `insufficient_quota`, a 500, no answer in time, a refusal, the content
/// filter, an answer that is not JSON.
final class FakeOpenAI: Sendable {
    static let key = "sk-fake-openai-0123456789"
    enum Failure: Sendable { case rateLimited, quota, serverError, slow, refusal, contentFilter, notJSON }

    struct Call: Sendable {
        let path: String
        let authorization: String?
        let body: [String: String]
    }

    final class State: Sendable {
        let calls = Mutex<[Call]>([])
        let failures = Mutex<[Failure]>([])
    }

    let state: State
    private let server: LocalHTTPServer
    var baseURL: String { "http://127.0.0.1:\(server.port)/v1" }
    var calls: [Call] { state.calls.withLock { $0 } }
    func failNext(_ failures: Failure...) { state.failures.withLock { $0 += failures } }

    /// One MPEG-1 layer III frame, 128 kbit/s at 44.1 kHz: 417 bytes, 1152 samples.
    static let frame: [UInt8] = [0xFF, 0xFB, 0x90, 0x00] + [UInt8](repeating: 0, count: 413)
    static let frameSeconds = 1152.0 / 44_100

    static func start() async -> FakeOpenAI {
        let state = State()
        let router = Router()
        for path in ["/v1/chat/completions", "/v1/images/generations", "/v1/audio/speech"] {
            router.post(RouterPath(path)) { request, _ in try await handle(request, path: path, state) }
        }
        return FakeOpenAI(state: state, server: await LocalHTTPServer.start(router, label: "fake-openai"))
    }

    private init(state: State, server: LocalHTTPServer) {
        self.state = state
        self.server = server
    }

    func stop() async { await server.stop() }

    private static func error(_ status: Int, _ type: String, _ code: String, _ message: String, headers: [String: String] = [:]) -> Response {
        var response = FakeReplicate.json(status, ["error": ["message": message, "type": type, "param": NSNull(), "code": code]])
        for (name, value) in headers { response.headers[HTTPField.Name(name)!] = value }
        return response
    }

    /// An answer in the schema's shape: each string "the <field> from the fake", each list three long.
    static func answer(_ schema: [String: Any], name: String) -> Any {
        switch schema["type"] as? String {
        case "object":
            let properties = schema["properties"] as? [String: [String: Any]] ?? [:]
            let required = schema["required"] as? [String] ?? []
            return Dictionary(uniqueKeysWithValues: required.map { ($0, answer(properties[$0] ?? ["type": "string"], name: $0)) })
        case "array":
            let items = schema["items"] as? [String: Any] ?? ["type": "string"]
            return (1...3).map { index in
                let item = answer(items, name: name)
                return (item as? String).map { "\($0) \(index)" } ?? item
            }
        default:
            return "the \(name) from the fake"
        }
    }

    private static func handle(_ request: Request, path: String, _ state: State) async throws -> Response {
        let raw = try await request.body.collect(upTo: 1 << 22)
        let body = (try? JSONSerialization.jsonObject(with: Data(buffer: raw))) as? [String: Any] ?? [:]
        state.calls.withLock {
            $0.append(Call(path: path, authorization: request.headers[.authorization], body: body.mapValues { value in
                (try? JSONSerialization.data(withJSONObject: value, options: [.fragmentsAllowed, .sortedKeys])).map { String(decoding: $0, as: UTF8.self) } ?? "\(value)"
            }))
        }
        guard request.headers[.authorization] == "Bearer \(key)" else {
            return error(401, "invalid_request_error", "invalid_api_key", "Incorrect API key provided.")
        }
        let failure = state.failures.withLock { $0.isEmpty ? nil : $0.removeFirst() }
        switch failure {
        case .rateLimited?: return error(429, "requests", "rate_limit_exceeded", "Rate limit reached for requests.", headers: ["retry-after-ms": "1200"])
        case .quota?: return error(429, "insufficient_quota", "insufficient_quota", "You exceeded your current quota.")
        case .serverError?: return error(500, "server_error", "server_error", "The server had an error while processing your request.")
        case .slow?:
            try await Task.sleep(for: .seconds(5))
            return error(500, "server_error", "server_error", "late")
        default: break
        }
        switch path {
        case "/v1/chat/completions":
            guard body["model"] is String, let messages = body["messages"] as? [[String: Any]], !messages.isEmpty,
                  let format = body["response_format"] as? [String: Any], format["type"] as? String == "json_schema",
                  let schema = (format["json_schema"] as? [String: Any])?["schema"] as? [String: Any] else {
                return error(400, "invalid_request_error", "invalid_request", "messages and a json_schema response_format are required")
            }
            let answer = Self.answer(schema, name: "answer")
            var message: [String: Any] = ["role": "assistant", "content": String(decoding: try JSONSerialization.data(withJSONObject: answer), as: UTF8.self),
                                          "refusal": NSNull()]
            var finish = "stop"
            switch failure {
            case .refusal?: message["content"] = NSNull(); message["refusal"] = "I can't help with that."
            case .contentFilter?: finish = "content_filter"
            case .notJSON?: message["content"] = "Once upon a time (not JSON)"
            default: break
            }
            return FakeReplicate.json(200, [
                "id": "chatcmpl-1", "object": "chat.completion", "model": "gpt-4o-2024-08-06",
                "choices": [["index": 0, "message": message, "finish_reason": finish]],
                "usage": ["prompt_tokens": 420, "completion_tokens": 780, "total_tokens": 1200],
            ])
        case "/v1/images/generations":
            guard body["prompt"] is String else { return error(400, "invalid_request_error", "invalid_request", "prompt is required") }
            let count = body["n"] as? Int ?? 1
            return FakeReplicate.json(200, ["created": 1_764_000_000, "data": (0..<count).map { index in
                ["b64_json": Data(FakeFiles.png(seed: index + 5)).base64EncodedString()]
            }])
        default:
            guard let input = body["input"] as? String, input.count <= 4096, body["voice"] is String else {
                return error(400, "invalid_request_error", "invalid_request", "input (at most 4096 characters) and voice are required")
            }
            // Frames enough for 26 ms a character.
            let audio = (0..<max(1, input.count)).flatMap { _ in frame }
            return Response(status: .ok, headers: [.contentType: "audio/mpeg"], body: .init(byteBuffer: ByteBuffer(bytes: audio)))
        }
    }
}
