import ServiceKit

/// The default provider: no network, real files. Images are PNGs deterministic in prompt and
/// seed (`LocalImageRenderer`); a video is an animated PNG of the same figure swaying, at 6
/// frames a second for its full duration, with its first frame as the thumbnail. The drawing
/// runs on a bounded thread pool, never on an event loop. `delay` (generation.local.delay-ms)
/// makes each result take that long, to stand in for a slow provider; `failures`
/// (generation.local.failures) makes the first that many attempts of every job fail as a
/// provider outage would, to rehearse retries and failures.
struct LocalProvider: MediaProvider {
    let name = "local"
    let delay: Duration
    var failures = 0
    let pool: BoundedWorkPool
    private let renderer = LocalImageRenderer()
    static let videoWidth = 192, videoHeight = 256, framesPerSecond = 6

    private func rehearse(attempt: Int) throws {
        if attempt <= failures {
            throw ProviderError(code: "PROVIDER_UNAVAILABLE", message: "the local provider failed attempt \(attempt) as configured", retryable: true)
        }
    }

    func images(_ request: ImageRequest) async throws -> [GeneratedFile] {
        try rehearse(attempt: request.attempt)
        var files: [GeneratedFile] = []
        for index in 0..<request.count {
            if delay > .zero { try await Task.sleep(for: delay) }
            let renderer = self.renderer
            let (picture, marked) = try await pool.run {
                let seed = request.seed &+ Int64(index)
                let plain = renderer.render(prompt: request.prompt, seed: seed, palette: request.palette, watermark: false)
                let marked = request.watermark ? renderer.render(prompt: request.prompt, seed: seed, palette: request.palette, watermark: true) : nil
                return (plain, marked)
            }
            files.append(GeneratedFile(bytes: marked?.png ?? picture.png, contentType: "image/png", fileExtension: "png",
                                       width: picture.width, height: picture.height, original: marked == nil ? nil : picture.png))
        }
        return files
    }

    func video(_ request: VideoRequest) async throws -> GeneratedFile {
        try rehearse(attempt: request.attempt)
        if delay > .zero { try await Task.sleep(for: delay) }
        let renderer = self.renderer
        let (w, h, fps) = (Self.videoWidth, Self.videoHeight, Self.framesPerSecond)
        let frameCount = request.durationSeconds * fps
        let (animation, still) = try await pool.run {
            let frames = (0..<frameCount).map { frame in
                renderer.draw(prompt: request.prompt, seed: request.seed, palette: request.palette, width: w, height: h,
                              phase: Double(frame) / Double(fps * 2))
            }
            return (PNGEncoder.encodeAnimation(width: w, height: h, frames: frames, framesPerSecond: fps),
                    PNGEncoder.encode(width: w, height: h, pixels: frames[0]))
        }
        return GeneratedFile(bytes: animation, contentType: "image/apng", fileExtension: "png", width: w, height: h,
                             durationSeconds: Double(frameCount) / Double(fps), thumbnail: still)
    }
}
