import AtelierTestSupport
import Foundation
import HTTPTypes
import Hummingbird
import Synchronization

/// A local stand-in for generativelanguage.googleapis.com's `generateContent` for the image
/// model: checks the `x-goog-api-key` header and the body (contents with parts, response
/// modalities asking for an image) and answers with an image part. `failNext` queues Google's
/// errors: 429 RESOURCE_EXHAUSTED with a RetryInfo delay, 500 INTERNAL, a reply without an
/// image, a safety refusal.
final class FakeGemini: Sendable {
    static let key = "AIza-fake-gemini-key"
    enum Failure: Sendable { case exhausted, internalError, noImage, safety }

    struct Call: Sendable {
        let path: String
        let apiKey: String?
        /// Each part's kind: "text" or the inline image's MIME type.
        let parts: [String]
        let texts: [String]
        let modalities: [String]
    }

    final class State: Sendable {
        let calls = Mutex<[Call]>([])
        let failures = Mutex<[Failure]>([])
    }

    let state: State
    private let server: LocalHTTPServer
    var baseURL: String { "http://127.0.0.1:\(server.port)/v1beta" }
    var calls: [Call] { state.calls.withLock { $0 } }
    func failNext(_ failures: Failure...) { state.failures.withLock { $0 += failures } }

    static func start() async -> FakeGemini {
        let state = State()
        let router = Router()
        router.post("/v1beta/models/{call}") { request, context in
            try await generate(request, call: context.parameters.get("call") ?? "", state)
        }
        return FakeGemini(state: state, server: await LocalHTTPServer.start(router, label: "fake-gemini"))
    }

    private init(state: State, server: LocalHTTPServer) {
        self.state = state
        self.server = server
    }

    func stop() async { await server.stop() }

    private static func generate(_ request: Request, call: String, _ state: State) async throws -> Response {
        let raw = try await request.body.collect(upTo: 1 << 24)
        let body = (try? JSONSerialization.jsonObject(with: Data(buffer: raw))) as? [String: Any] ?? [:]
        let parts = ((body["contents"] as? [[String: Any]])?.first?["parts"] as? [[String: Any]]) ?? []
        let kinds = parts.map { part in ((part["inline_data"] as? [String: Any])?["mime_type"] as? String) ?? (part["text"] != nil ? "text" : "?") }
        let modalities = (body["generationConfig"] as? [String: Any])?["responseModalities"] as? [String] ?? []
        state.calls.withLock {
            $0.append(Call(path: request.uri.path, apiKey: request.headers[HTTPField.Name("x-goog-api-key")!], parts: kinds,
                           texts: parts.compactMap { $0["text"] as? String }, modalities: modalities))
        }
        guard request.headers[HTTPField.Name("x-goog-api-key")!] == key else {
            return error(403, "PERMISSION_DENIED", "Method doesn't allow unregistered callers.")
        }
        guard call == "gemini-2.5-flash-image:generateContent", !parts.isEmpty, modalities.contains("IMAGE") else {
            return error(400, "INVALID_ARGUMENT", "Request contains an invalid argument.")
        }
        switch state.failures.withLock({ $0.isEmpty ? nil : $0.removeFirst() }) {
        case .exhausted?:
            return FakeReplicate.json(429, ["error": [
                "code": 429, "status": "RESOURCE_EXHAUSTED", "message": "Resource has been exhausted (e.g. check quota).",
                "details": [["@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "9s"]],
            ]])
        case .internalError?:
            return error(500, "INTERNAL", "An internal error has occurred.")
        case .noImage?:
            return FakeReplicate.json(200, ["candidates": [["content": ["role": "model", "parts": [["text": "Here is a description instead."]]],
                                                            "finishReason": "STOP"]]])
        case .safety?:
            return FakeReplicate.json(200, ["candidates": [["content": ["role": "model", "parts": [] as [String]], "finishReason": "IMAGE_SAFETY"]]])
        case nil:
            let png = FakeFiles.png(seed: kinds.count * 31 + (parts.first?["text"] as? String ?? "").count)
            return FakeReplicate.json(200, [
                "candidates": [["content": ["role": "model", "parts": [
                    ["text": "Here you go."], ["inlineData": ["mimeType": "image/png", "data": Data(png).base64EncodedString()]],
                ]], "finishReason": "STOP"]],
                "usageMetadata": ["promptTokenCount": 12, "candidatesTokenCount": 1290, "totalTokenCount": 1302],
            ])
        }
    }

    private static func error(_ status: Int, _ code: String, _ message: String) -> Response {
        FakeReplicate.json(status, ["error": ["code": status, "status": code, "message": message]])
    }
}
