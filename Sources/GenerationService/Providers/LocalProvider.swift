import Crypto
import ServiceKit

/// The default provider: no network, real files. Images are PNGs deterministic in prompt and
/// seed (`LocalImageRenderer`); an edit draws the instruction with a seed taken from the source
/// picture, so different photos and different edits give different pictures; a video is an
/// animated PNG of the same figure swaying, at 6 frames a second for its full duration, with
/// its first frame as the thumbnail. The drawing runs on a bounded thread pool, never on an
/// event loop. `delay` (generation.local.delay-ms) makes each result take that long, to stand in
/// for a slow provider; `failures` (generation.local.failures) makes the first that many
/// attempts of every job fail as a provider outage would, to rehearse retries and failures.
struct LocalProvider: ImageProvider, ImageEditProvider, VideoProvider {
    let name = "local"
    var imageModel: String { "local" }
    var editModel: String { "local" }
    var videoModel: String { "local" }
    let delay: Duration
    var failures = 0
    let pool: BoundedWorkPool
    private let renderer = LocalImageRenderer()
    static let videoWidth = 192, videoHeight = 256, framesPerSecond = 6

    private func rehearse(_ control: JobControl) throws {
        if control.attempt <= failures {
            throw ProviderError(code: "PROVIDER_UNAVAILABLE", message: "the local provider failed attempt \(control.attempt) as configured", retryable: true)
        }
    }

    func images(_ request: ImageRequest) async throws -> [GeneratedFile] {
        try rehearse(request.control)
        var files: [GeneratedFile] = []
        for index in 0..<request.count {
            files.append(try await picture(prompt: request.prompt, seed: request.seed &+ Int64(index), palette: request.palette,
                                           watermark: request.watermark))
        }
        return files
    }

    func edit(_ request: EditRequest) async throws -> [GeneratedFile] {
        try rehearse(request.control)
        let digest = SHA256.hash(data: request.source.bytes).prefix(8).reduce(Int64(0)) { $0 << 8 | Int64($1) }
        return [try await picture(prompt: request.instruction, seed: request.seed ^ digest, palette: request.palette, watermark: request.watermark)]
    }

    /// A picture; with `watermark`, its marked copy, the unmarked one kept as the original.
    private func picture(prompt: String, seed: Int64, palette: Palette, watermark: Bool) async throws -> GeneratedFile {
        if delay > .zero { try await Task.sleep(for: delay) }
        let renderer = self.renderer
        if watermark {
            let (plain, marked) = try await pool.run { renderer.renderWithMark(prompt: prompt, seed: seed, palette: palette) }
            return GeneratedFile(bytes: marked.png, contentType: "image/png", fileExtension: "png", width: plain.width, height: plain.height,
                                 original: plain.png)
        }
        let picture = try await pool.run { renderer.render(prompt: prompt, seed: seed, palette: palette, watermark: false) }
        return GeneratedFile(bytes: picture.png, contentType: "image/png", fileExtension: "png", width: picture.width, height: picture.height)
    }

    func video(_ request: VideoRequest) async throws -> GeneratedFile {
        try rehearse(request.control)
        if delay > .zero { try await Task.sleep(for: delay) }
        let renderer = self.renderer
        let (w, h, fps) = (Self.videoWidth, Self.videoHeight, Self.framesPerSecond)
        let frameCount = request.durationSeconds * fps
        let (animation, still) = try await pool.run {
            let frames = (0..<frameCount).map { frame in
                renderer.canvas(prompt: request.prompt, seed: request.seed, palette: request.palette, width: w, height: h,
                                phase: Double(frame) / Double(fps * 2))
            }
            return (PNGEncoder.encodeAnimation(frames: frames, framesPerSecond: fps), PNGEncoder.encode(frames[0]))
        }
        return GeneratedFile(bytes: animation, contentType: "image/apng", fileExtension: "png", width: w, height: h,
                             durationSeconds: Double(frameCount) / Double(fps), thumbnail: still)
    }
}
