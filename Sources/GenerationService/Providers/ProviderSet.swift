import Foundation
import ServiceKit

/// The providers jobs use, one per capability, chosen by configuration, each behind its own
/// gate: a concurrency limit and a circuit breaker per provider (DESIGN.md, "Generation").
///
/// A provider is enabled by its key: images go to Replicate when `generation.replicate.token`
/// is set, else to Gemini when `generation.gemini.key` is, else to the local provider; edits
/// (styling edits, photo mode) to Gemini, else local; videos to Replicate, else local.
/// `generation.providers.image|edit|video` (local, replicate, gemini) choose otherwise.
struct ProviderSet: Sendable {
    let image: any ImageProvider
    let edit: any ImageEditProvider
    let video: any VideoProvider
    let story: any StoryWriter
    let speech: any SpeechProvider
    /// The text provider for structured answers (visual profiles, scenes), when one is keyed;
    /// without one they are read from the words themselves.
    let text: (any TextProvider)?
    private let gates: [String: ProviderGate]

    init(image: any ImageProvider, edit: any ImageEditProvider, video: any VideoProvider, story: any StoryWriter, speech: any SpeechProvider,
         text: (any TextProvider)? = nil, gates: [String: ProviderGate]) {
        self.text = text
        self.image = image
        self.edit = edit
        self.video = video
        self.story = story
        self.speech = speech
        var all = gates
        for name in [image.name, edit.name, video.name, story.name, speech.name] where all[name] == nil {
            all[name] = ProviderGate(name: name, concurrency: 4, breakerFailures: 5, breakerOpen: .seconds(30))
        }
        self.gates = all
    }

    /// The gate of the provider that serves `kind`.
    func gate(forKind kind: String) -> ProviderGate {
        let name = switch kind {
        case "video": video.name
        case "variant", "photo": edit.name
        case "story": story.name
        case "narration": speech.name
        case "text": text?.name ?? "local"
        default: image.name
        }
        return gate(name)
    }

    /// A provider call for a job of `kind` inside its provider's gate: within the concurrency
    /// limit, and counted by the breaker when the provider fails as a whole (not the request).
    func run<T: Sendable>(_ kind: String, _ body: () async throws -> T) async throws -> T {
        let gate = gate(forKind: kind)
        do {
            let value = try await gate.slots.run(body)
            gate.breaker.succeeded()
            return value
        } catch let error as ProviderError where error.retryable {
            gate.breaker.failed()
            throw error
        }
    }

    var profiler: any VisualProfiler { text.map { ProviderVisualProfiler(text: $0) } ?? LocalVisualProfiler() }
    var scenes: any SceneExtractor { text.map { ProviderSceneExtractor(text: $0) } ?? LocalSceneExtractor() }

    /// One picture from the image provider, inside its gate, and the call `metered`.
    func picture(_ request: ImageRequest, kind: String, metered: (MeteredCall) async -> Void) async throws -> GeneratedFile {
        let image = self.image
        guard let file = try await run(kind, { try await image.images(request) }).first else {
            throw ProviderError(code: "PROVIDER_NO_IMAGE", message: "the provider drew no picture", retryable: true)
        }
        await metered(MeteredCall(operation: "image_generation", provider: image.name, model: image.imageModel))
        return file
    }

    func gate(_ name: String) -> ProviderGate {
        // Every provider in use has a gate (`init` makes sure).
        gates[name] ?? ProviderGate(name: name, concurrency: 1, breakerFailures: 5, breakerOpen: .seconds(30))
    }

    static func make(_ configuration: Configuration, settings: GenerationSettings, pool: BoundedWorkPool,
                     inbox: any PredictionInbox) throws -> ProviderSet {
        let timeout = Duration.seconds(try configuration.int("generation.provider-timeout-seconds", default: 60, range: 1...600))
        let local = LocalProvider(delay: settings.localDelay, failures: settings.localFailures, pool: pool)
        var replicate: ReplicateProvider?
        if let token = configuration.string("generation.replicate.token"), !token.isEmpty {
            var options = ReplicateProvider.Settings(token: token)
            if let base = try url(configuration, "generation.replicate.base-url") { options.baseURL = base }
            if let version = configuration.string("generation.replicate.image-version"), !version.isEmpty { options.imageVersion = version }
            if let version = configuration.string("generation.replicate.video-version"), !version.isEmpty { options.videoVersion = version }
            options.loraURL = configuration.string("generation.replicate.lora-url").flatMap { $0.isEmpty ? nil : $0 }
            options.loraScale = Double(try configuration.int("generation.replicate.lora-scale-percent", default: 60, range: 0...100)) / 100
            options.webhookURL = try url(configuration, "generation.replicate.webhook-url")?.absoluteString
            options.poll = .milliseconds(try configuration.int("generation.replicate.poll-ms", default: 1000, range: 10...60_000))
            options.maxWait = .seconds(try configuration.int("generation.replicate.max-wait-seconds", default: 600, range: 1...3600))
            replicate = ReplicateProvider(settings: options, timeout: timeout, inbox: inbox)
        }
        var openAI: OpenAIProvider?
        if let key = configuration.string("generation.openai.key"), !key.isEmpty {
            var options = OpenAIProvider.Settings(key: key)
            if let base = try url(configuration, "generation.openai.base-url") { options.baseURL = base }
            if let model = configuration.string("generation.openai.text-model"), !model.isEmpty { options.textModel = model }
            if let model = configuration.string("generation.openai.speech-model"), !model.isEmpty { options.speechModel = model }
            openAI = OpenAIProvider(settings: options, timeout: timeout)
        }
        var gemini: GeminiProvider?
        if let key = configuration.string("generation.gemini.key"), !key.isEmpty {
            var options = GeminiProvider.Settings(key: key)
            if let base = try url(configuration, "generation.gemini.base-url") { options.baseURL = base }
            if let model = configuration.string("generation.gemini.model"), !model.isEmpty { options.model = model }
            gemini = GeminiProvider(settings: options, timeout: timeout)
        }

        func choose<P>(_ capability: String, _ candidates: [(String, P?)]) throws -> P {
            let key = "generation.providers.\(capability)"
            guard let wanted = configuration.string(key), !wanted.isEmpty else {
                return candidates.lazy.compactMap(\.1).first!  // '!' is fine: the local provider is always last.
            }
            guard let found = candidates.first(where: { $0.0 == wanted }) else {
                throw ConfigurationError.invalid(key: key, value: wanted, expected: candidates.map(\.0).joined(separator: ", "))
            }
            guard let provider = found.1 else {
                throw ConfigurationError.invalid(key: key, value: wanted, expected: "a provider whose key is configured")
            }
            return provider
        }
        let image: any ImageProvider = try choose("image", [("replicate", replicate as (any ImageProvider)?), ("gemini", gemini), ("local", local)])
        let edit: any ImageEditProvider = try choose("edit", [("gemini", gemini as (any ImageEditProvider)?), ("local", local)])
        let video: any VideoProvider = try choose("video", [("replicate", replicate as (any VideoProvider)?), ("local", local)])
        let story: any StoryWriter = try choose("story", [("openai", openAI.map { ProviderStoryWriter(text: $0) } as (any StoryWriter)?),
                                                          ("local", LocalStoryWriter())])
        let speech: any SpeechProvider = try choose("speech", [("openai", openAI as (any SpeechProvider)?), ("local", LocalSpeech(pool: pool))])

        var gates: [String: ProviderGate] = [:]
        for (name, defaultLimit) in [("local", 4), ("replicate", 8), ("gemini", 4), ("openai", 8)] {
            gates[name] = ProviderGate(
                name: name, concurrency: try configuration.int("generation.\(name).concurrency", default: defaultLimit, range: 1...256),
                breakerFailures: settings.breakerFailures, breakerOpen: settings.breakerOpen)
        }
        let text: (any TextProvider)? = story is LocalStoryWriter ? nil : openAI
        return ProviderSet(image: image, edit: edit, video: video, story: story, speech: speech, text: text, gates: gates)
    }

    private static func url(_ configuration: Configuration, _ key: String) throws -> URL? {
        guard let text = configuration.string(key), !text.isEmpty else { return nil }
        guard let url = URL(string: text), url.scheme == "https" || url.scheme == "http", url.host != nil else {
            throw ConfigurationError.invalid(key: key, value: text, expected: "an http(s) URL")
        }
        return url
    }
}

/// One provider's concurrency limit and circuit breaker.
struct ProviderGate: Sendable {
    let name: String
    let slots: ConcurrencyLimit
    let breaker: CircuitBreaker

    init(name: String, concurrency: Int, breakerFailures: Int, breakerOpen: Duration) {
        self.name = name
        slots = ConcurrencyLimit(concurrency)
        breaker = CircuitBreaker(threshold: breakerFailures, openFor: breakerOpen)
    }
}
