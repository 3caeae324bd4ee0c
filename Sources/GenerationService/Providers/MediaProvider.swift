/// What a provider makes for a job: files with what the gallery records of them.
struct GeneratedFile: Sendable {
    let bytes: [UInt8]
    let contentType: String
    let fileExtension: String
    let width: Int
    let height: Int
    var durationSeconds: Double?
    /// A still of a video, shown before it plays.
    var thumbnail: [UInt8]?
    /// The unmarked picture, when `bytes` carries the Free plan's watermark: kept privately so a
    /// later upgrade or purchase can lift the mark.
    var original: [UInt8]?
}

struct ImageRequest: Sendable {
    let prompt: String
    let seed: Int64
    let count: Int
    let palette: Palette
    /// Diffusion steps: fewer on Free (the MVP spec: 20, paid 35 to 50).
    let steps: Int
    /// Free plan pictures carry a visible mark.
    let watermark: Bool
    /// Which attempt of the job this is, from 1.
    var attempt: Int = 1
}

struct VideoRequest: Sendable {
    let prompt: String
    let seed: Int64
    let durationSeconds: Int
    let palette: Palette
    var attempt: Int = 1
}

/// An image and video provider (DESIGN.md, "Generation": small protocols, one per capability).
/// Errors a provider throws say whether another attempt may help (`ProviderError`).
protocol MediaProvider: Sendable {
    var name: String { get }
    func images(_ request: ImageRequest) async throws -> [GeneratedFile]
    func video(_ request: VideoRequest) async throws -> GeneratedFile
}

/// A provider's failure, and whether to try again.
struct ProviderError: Error, CustomStringConvertible {
    let code: String
    let message: String
    let retryable: Bool
    var description: String { "\(code): \(message)" }
}
