import Foundation

/// Google's Gemini image model ("nano banana", `../shared/PROVIDERS.md`): pictures from text,
/// and a picture changed by an instruction (a styling edit, a character from a photo), one
/// `generateContent` call a picture. The reply's image part is the result; a reply that ends
/// for safety without one is a refusal, not worth another attempt.
struct GeminiProvider: ImageProvider, ImageEditProvider {
    struct Settings: Sendable {
        var key: String
        var baseURL = URL(string: "https://generativelanguage.googleapis.com/v1beta")!  // '!' is fine: a valid literal.
        var model = "gemini-2.5-flash-image"
        var aspectRatio = "3:4"
    }

    let name = "gemini"
    var imageModel: String { settings.model }
    var editModel: String { settings.model }
    let settings: Settings
    let http: ProviderHTTP

    init(settings: Settings, timeout: Duration) {
        self.settings = settings
        http = ProviderHTTP(provider: "Gemini", timeout: timeout) { _, body in
            // {"error": {"code", "message", "status", "details": [{"@type": "…RetryInfo", "retryDelay": "30s"}]}}
            let error = body["error"] as? [String: Any]
            let details = error?["details"] as? [[String: Any]] ?? []
            let delay = details.lazy.compactMap { $0["retryDelay"] as? String }.first.flatMap(Duration.init(googleDuration:))
            let message = [error?["status"] as? String, error?["message"] as? String].compactMap { $0 }.joined(separator: ": ")
            return ProviderHTTP.ErrorBody(message: message.isEmpty ? nil : message, retryAfter: delay)
        }
    }

    func images(_ request: ImageRequest) async throws -> [GeneratedFile] {
        var files: [GeneratedFile] = []
        for index in 0..<request.count {
            if await request.control.canceled() { throw JobCanceled() }
            files.append(try await generate(parts: [["text": request.prompt]], seed: request.seed &+ Int64(index)))
        }
        return files
    }

    func edit(_ request: EditRequest) async throws -> [GeneratedFile] {
        let parts: [[String: Any]] = [
            ["text": request.instruction],
            ["inline_data": ["mime_type": request.source.contentType, "data": Data(request.source.bytes).base64EncodedString()]],
        ]
        return [try await generate(parts: parts, seed: request.seed)]
    }

    private func generate(parts: [[String: Any]], seed: Int64) async throws -> GeneratedFile {
        let body: [String: Any] = [
            "contents": [["role": "user", "parts": parts]],
            "generationConfig": [
                "responseModalities": ["TEXT", "IMAGE"], "seed": Int(truncatingIfNeeded: seed & 0x7FFF_FFFF),
                "imageConfig": ["aspectRatio": settings.aspectRatio],
            ] as [String: Any],
        ]
        let url = settings.baseURL.appendingPathComponent("models/\(settings.model):generateContent")
        let reply = try await http.json("POST", url, headers: ["x-goog-api-key": settings.key], body: body)
        guard let candidate = (reply["candidates"] as? [[String: Any]])?.first else {
            if let blocked = (reply["promptFeedback"] as? [String: Any])?["blockReason"] as? String {
                throw ProviderError(code: "PROVIDER_REFUSED", message: "Gemini refused the prompt (\(blocked))", retryable: false)
            }
            throw http.malformed("the reply has no candidates")
        }
        let replyParts = (candidate["content"] as? [String: Any])?["parts"] as? [[String: Any]] ?? []
        // The documented key is inlineData; proxies and older versions write inline_data.
        let image = replyParts.lazy.compactMap { ($0["inlineData"] ?? $0["inline_data"]) as? [String: Any] }.first
        guard let image else {
            let reason = candidate["finishReason"] as? String ?? "no image"
            if ["SAFETY", "IMAGE_SAFETY", "PROHIBITED_CONTENT", "BLOCKLIST", "RECITATION"].contains(reason) {
                throw ProviderError(code: "PROVIDER_REFUSED", message: "Gemini would not draw this (\(reason))", retryable: false)
            }
            throw http.malformed("the reply has no image (\(reason))")
        }
        guard let encoded = image["data"] as? String, let data = Data(base64Encoded: encoded), !data.isEmpty else {
            throw http.malformed("the image part is not base64")
        }
        let bytes = Array(data)
        let type = (image["mimeType"] ?? image["mime_type"]) as? String ?? "image/png"
        let size = PNGDecoder.size(bytes) ?? (768, 1024)
        return GeneratedFile(bytes: bytes, contentType: type, fileExtension: type == "image/jpeg" ? "jpg" : "png", width: size.width, height: size.height)
    }
}
