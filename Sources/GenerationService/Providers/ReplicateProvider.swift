import Foundation

/// Replicate's HTTP API (`../shared/PROVIDERS.md`): images from SDXL with the operator's LoRA
/// (`replicate_weights`), videos from Stable Video Diffusion. A prediction is created, then
/// awaited: by its signed webhook when `generation.replicate.webhook-url` is set (the edge takes
/// it at /api/webhooks/replicate and generation records it, `ReplicateWebhooks`), and by polling
/// `GET /predictions/{id}`, less often when a webhook will come. Outputs are copied at once:
/// Replicate deletes them after an hour. A job canceled while its prediction runs cancels the
/// prediction too.
struct ReplicateProvider: ImageProvider, VideoProvider {
    struct Settings: Sendable {
        var token: String
        var baseURL = URL(string: "https://api.replicate.com/v1")!  // '!' is fine: a valid literal.
        /// `owner/name:hash` of the image model (SDXL) and the video model (Stable Video Diffusion).
        var imageVersion = "stability-ai/sdxl:7762fd07cf82c948538e41f63f77d685e02b063e37e496e96eefd46c929f9bdc"
        var videoVersion = "stability-ai/stable-video-diffusion:3f0457e4619daac51203dedb472816fd4af51f3149fa7a9e0b5ffcf1b8172438"
        /// A trained LoRA's weights (a URL), and how strongly it applies.
        var loraURL: String?
        var loraScale = 0.6
        /// Where Replicate sends the finished prediction: the edge's /api/webhooks/replicate.
        var webhookURL: String?
        var poll: Duration = .seconds(1)
        /// How long a prediction may take before the attempt gives up on it.
        var maxWait: Duration = .seconds(600)
    }

    let name = "replicate"
    var imageModel: String { "sdxl" }
    var videoModel: String { "stable-video-diffusion" }
    let settings: Settings
    let http: ProviderHTTP
    /// Predictions delivered by webhook; nil without a webhook.
    let inbox: (any PredictionInbox)?

    init(settings: Settings, timeout: Duration, inbox: (any PredictionInbox)?) {
        self.settings = settings
        self.inbox = settings.webhookURL == nil ? nil : inbox
        http = ProviderHTTP(provider: "Replicate", timeout: timeout) { status, body in
            // Errors are RFC 7807 documents; a 429 says "Your rate limit resets in ~30s."
            let detail = body["detail"] as? String ?? body["title"] as? String
            return ProviderHTTP.ErrorBody(message: detail, retryAfter: status == 429 ? detail.flatMap(Self.resetHint) : nil)
        }
    }

    func images(_ request: ImageRequest) async throws -> [GeneratedFile] {
        var input: [String: Any] = [
            "prompt": request.prompt, "negative_prompt": "blurry, deformed, extra limbs, text, watermark",
            "width": 1024, "height": 1024, "num_outputs": request.count, "num_inference_steps": request.steps,
            "guidance_scale": 7.5, "scheduler": "K_EULER", "seed": request.seed, "apply_watermark": false,
        ]
        if let lora = settings.loraURL {
            input["replicate_weights"] = lora
            input["lora_scale"] = settings.loraScale
        }
        let prediction = try await predict(version: settings.imageVersion, input: input, control: request.control)
        guard let urls = prediction["output"] as? [String], !urls.isEmpty else { throw http.malformed("a finished prediction has no output images") }
        var files: [GeneratedFile] = []
        for text in urls.prefix(request.count) {
            let (bytes, type) = try await download(text)
            let size = PNGDecoder.size(bytes) ?? (1024, 1024)
            let png = PNGDecoder.isPNG(bytes)
            files.append(GeneratedFile(bytes: bytes, contentType: png ? "image/png" : type ?? "image/jpeg", fileExtension: png ? "png" : "jpg",
                                       width: size.width, height: size.height))
        }
        return files
    }

    /// Stable Video Diffusion makes 25 frames; the frame rate spreads them over the duration
    /// asked for (4 s at 6 a second, 6 s at 4). The video's real length is read from the file.
    func video(_ request: VideoRequest) async throws -> GeneratedFile {
        guard let source = request.source else {
            throw ProviderError(code: "SOURCE_IMAGE_MISSING", message: "a video starts from an image", retryable: false)
        }
        let fps = max(1, 25 / max(request.durationSeconds, 1))
        let input: [String: Any] = [
            "input_image": source.dataURI, "video_length": "25_frames_with_svd_xt", "sizing_strategy": "maintain_aspect_ratio",
            "frames_per_second": fps, "motion_bucket_id": 127, "cond_aug": 0.02, "seed": request.seed,
        ]
        let prediction = try await predict(version: settings.videoVersion, input: input, control: request.control)
        let output = (prediction["output"] as? String) ?? (prediction["output"] as? [String])?.first
        guard let output else { throw http.malformed("a finished prediction has no video") }
        let (bytes, _) = try await download(output)
        let size = PNGDecoder.size(source.bytes) ?? (1024, 576)
        return GeneratedFile(bytes: bytes, contentType: "video/mp4", fileExtension: "mp4", width: size.width, height: size.height,
                             durationSeconds: MP4Duration.seconds(bytes) ?? 25 / Double(fps), thumbnail: source.bytes)
    }

    // MARK: predictions

    private var headers: [String: String] { ["Authorization": "Bearer \(settings.token)"] }

    private func url(_ path: String) -> URL { settings.baseURL.appendingPathComponent(path) }

    static let finished: Set<String> = ["succeeded", "failed", "canceled", "aborted"]

    /// Creates the prediction and waits for it to finish; the finished prediction, or an error.
    func predict(version: String, input: [String: Any], control: JobControl) async throws -> [String: Any] {
        var body: [String: Any] = ["version": version, "input": input]
        if let webhook = settings.webhookURL {
            body["webhook"] = webhook
            body["webhook_events_filter"] = ["completed"]
        }
        var prediction = try await http.json("POST", url("predictions"), headers: headers, body: body)
        guard let id = prediction["id"] as? String, !id.isEmpty else { throw http.malformed("a new prediction has no id") }
        let started = ContinuousClock.now
        var polls = 0
        while !Self.finished.contains(prediction["status"] as? String ?? "") {
            if await control.canceled() {
                _ = try? await http.json("POST", url("predictions/\(id)/cancel"), headers: headers)
                throw JobCanceled()
            }
            if ContinuousClock.now - started > settings.maxWait {
                _ = try? await http.json("POST", url("predictions/\(id)/cancel"), headers: headers)
                throw ProviderError(code: "PROVIDER_TIMEOUT", message: "Replicate's prediction \(id) did not finish in \(Int(settings.maxWait.seconds)) s",
                                    retryable: true)
            }
            try await Task.sleep(for: settings.poll)
            polls += 1
            if let inbox, let delivered = try await inbox.prediction(id) {
                prediction = delivered
            } else if inbox == nil || polls % 10 == 0 {
                // With a webhook on its way the API is asked only every tenth time, in case a delivery is lost.
                prediction = try await http.json("GET", url("predictions/\(id)"), headers: headers)
            }
        }
        switch prediction["status"] as? String {
        case "succeeded":
            return prediction
        case "canceled" where await control.canceled():
            throw JobCanceled()
        default:
            let error = (prediction["error"] as? String) ?? (prediction["status"] as? String ?? "failed")
            throw ProviderError(code: "PROVIDER_FAILED", message: "Replicate's prediction \(id) ended \(prediction["status"] as? String ?? "?"): \(error)",
                                retryable: true)
        }
    }

    private func download(_ text: String) async throws -> ([UInt8], String?) {
        guard let url = URL(string: text), url.scheme == "https" || url.scheme == "http" else { throw http.malformed("an output is not a URL") }
        return try await http.download(url)
    }

    /// "…resets in ~30s." → 30 s.
    static func resetHint(_ detail: String) -> Duration? {
        guard let tilde = detail.range(of: "~") else { return nil }
        let digits = detail[tilde.upperBound...].prefix { $0.isNumber }
        return Int64(digits).map { .seconds($0) }
    }
}

/// Predictions Replicate delivered by webhook, finished ones only.
protocol PredictionInbox: Sendable {
    func prediction(_ id: String) async throws -> [String: Any]?
}
