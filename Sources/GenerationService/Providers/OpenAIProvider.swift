import Foundation

/// OpenAI's HTTP API (`../shared/PROVIDERS.md`): chat completions with structured output (a
/// JSON Schema, strict) for story text, scenes and visual profiles; image generation; speech.
/// A refusal, or an answer cut short by the content filter, is the provider declining (not worth
/// another attempt); an answer that is not the JSON asked for is a malformed reply (worth one).
/// A 429 `rate_limit_exceeded` waits `retry-after-ms`; `insufficient_quota` is not retried.
/// Speech takes 4,096 characters a call: a longer story is narrated in parts, joined.
struct OpenAIProvider: TextProvider, SpeechProvider, ImageProvider {
    struct Settings: Sendable {
        var key: String
        var baseURL = URL(string: "https://api.openai.com/v1")!  // '!' is fine: a valid literal.
        var textModel = "gpt-4o"
        var imageModel = "gpt-image-1"
        var speechModel = "tts-1"
    }

    let name = "openai"
    var imageModel: String { settings.imageModel }
    var speechModel: String { settings.speechModel }
    let settings: Settings
    let http: ProviderHTTP

    init(settings: Settings, timeout: Duration) {
        self.settings = settings
        http = ProviderHTTP(provider: "OpenAI", timeout: timeout) { _, body in
            // {"error": {"message", "type", "param", "code"}}
            let error = body["error"] as? [String: Any]
            let code = error?["code"] as? String ?? error?["type"] as? String
            return ProviderHTTP.ErrorBody(message: [code, error?["message"] as? String].compactMap { $0 }.joined(separator: ": "),
                                          retryable: code == "insufficient_quota" ? false : nil)
        }
    }

    private var headers: [String: String] { ["Authorization": "Bearer \(settings.key)"] }
    private func url(_ path: String) -> URL { settings.baseURL.appendingPathComponent(path) }

    func complete(_ request: TextRequest) async throws -> TextReply {
        guard let schema = try? JSONSerialization.jsonObject(with: Data(request.schema.utf8)) else {
            throw ProviderError(code: "SCHEMA_INVALID", message: "the answer's schema is not JSON", retryable: false)
        }
        let body: [String: Any] = [
            "model": settings.textModel, "temperature": 0.8, "max_tokens": request.maxTokens,
            "messages": [["role": "system", "content": request.instructions], ["role": "user", "content": request.input]],
            "response_format": ["type": "json_schema", "json_schema": ["name": request.schemaName, "schema": schema, "strict": true]],
        ]
        let reply = try await http.json("POST", url("chat/completions"), headers: headers, body: body)
        guard let choice = (reply["choices"] as? [[String: Any]])?.first, let message = choice["message"] as? [String: Any] else {
            throw http.malformed("the reply has no choices")
        }
        if let refusal = message["refusal"] as? String, !refusal.isEmpty {
            throw ProviderError(code: "PROVIDER_REFUSED", message: "OpenAI declined: \(refusal)", retryable: false)
        }
        let finish = choice["finish_reason"] as? String
        if finish == "content_filter" {
            throw ProviderError(code: "PROVIDER_REFUSED", message: "OpenAI's content filter stopped the answer", retryable: false)
        }
        guard let content = message["content"] as? String,
              (try? JSONSerialization.jsonObject(with: Data(content.utf8))) is [String: Any] else {
            throw http.malformed(finish == "length" ? "the answer was cut off at its token limit" : "the answer is not the JSON asked for")
        }
        let usage = reply["usage"] as? [String: Any]
        return TextReply(json: content, model: reply["model"] as? String ?? settings.textModel,
                         promptTokens: usage?["prompt_tokens"] as? Int ?? 0, completionTokens: usage?["completion_tokens"] as? Int ?? 0)
    }

    func images(_ request: ImageRequest) async throws -> [GeneratedFile] {
        let body: [String: Any] = ["model": settings.imageModel, "prompt": request.prompt, "n": request.count, "size": "1024x1536", "quality": "medium"]
        let reply = try await http.json("POST", url("images/generations"), headers: headers, body: body)
        let data = reply["data"] as? [[String: Any]] ?? []
        var files: [GeneratedFile] = []
        for item in data {
            if let encoded = item["b64_json"] as? String, let bytes = Data(base64Encoded: encoded), !bytes.isEmpty {
                files.append(Self.picture(Array(bytes)))
            } else if let link = item["url"] as? String, let url = URL(string: link) {
                files.append(Self.picture(try await http.download(url).bytes))
            }
        }
        guard !files.isEmpty else { throw http.malformed("the reply has no images") }
        return files
    }

    private static func picture(_ bytes: [UInt8]) -> GeneratedFile {
        let png = PNGDecoder.isPNG(bytes)
        let size = PNGDecoder.size(bytes) ?? (1024, 1536)
        return GeneratedFile(bytes: bytes, contentType: png ? "image/png" : "image/jpeg", fileExtension: png ? "png" : "jpg",
                             width: size.width, height: size.height)
    }

    func speak(_ request: SpeechRequest) async throws -> Speech {
        var audio: [UInt8] = []
        for part in SpeechParts.split(request.text) {
            if await request.control.canceled() { throw JobCanceled() }
            let body = try JSONSerialization.data(withJSONObject: [
                "model": settings.speechModel, "input": part, "voice": request.voice, "response_format": "mp3",
            ] as [String: Any])
            let reply = try await http.send("POST", url("audio/speech"), headers: headers, body: body)
            guard !reply.body.isEmpty else { throw http.malformed("the speech reply is empty") }
            audio += reply.body
        }
        guard let duration = MP3Duration.seconds(audio) else { throw http.malformed("the speech reply is not MP3 audio") }
        return Speech(bytes: audio, contentType: "audio/mpeg", fileExtension: "mp3", durationSeconds: duration, characters: request.text.count)
    }
}
