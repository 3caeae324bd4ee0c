import Foundation

/// What a provider makes for a job: files with what the gallery records of them.
struct GeneratedFile: Sendable {
    var bytes: [UInt8]
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

/// The job a provider call works for: its attempt, and whether its user asked to cancel it, so
/// a provider with a cancel call (Replicate) can stop its own work too.
struct JobControl: Sendable {
    let job: String
    /// Which attempt of the job this is, from 1.
    let attempt: Int
    let canceled: @Sendable () async -> Bool

    static func detached(_ job: String = "job", attempt: Int = 1) -> JobControl {
        JobControl(job: job, attempt: attempt, canceled: { false })
    }
}

/// A picture to hand a provider (a character's image, an uploaded photo).
struct SourceImage: Sendable {
    let bytes: [UInt8]
    let contentType: String

    var dataURI: String { "data:\(contentType);base64,\(Data(bytes).base64EncodedString())" }
}

struct ImageRequest: Sendable {
    let prompt: String
    let seed: Int64
    let count: Int
    let palette: Palette
    /// Diffusion steps: fewer on Free (the MVP spec: 20, paid 35 to 50).
    let steps: Int
    let control: JobControl
    /// The Free plan's mark is wanted. A provider that can draw it cheaply returns marked files
    /// with their `original`; the runner marks any file that comes back without one.
    var watermark = false
}

/// A picture changed by an instruction: a styling edit of a character's image, or a character
/// drawn from an uploaded photo.
struct EditRequest: Sendable {
    let instruction: String
    let source: SourceImage
    let seed: Int64
    let palette: Palette
    let control: JobControl
    var watermark = false
}

struct VideoRequest: Sendable {
    let prompt: String
    let seed: Int64
    let durationSeconds: Int
    let palette: Palette
    /// The image the video starts from.
    let source: SourceImage?
    let control: JobControl
}

/// Providers behind small protocols, one per capability (DESIGN.md, "Generation"). Errors a
/// provider throws say whether another attempt may help (`ProviderError`); a provider that saw
/// its job canceled throws `JobCanceled`.
protocol ImageProvider: Sendable {
    var name: String { get }
    /// The model the cost table prices its pictures by.
    var imageModel: String { get }
    func images(_ request: ImageRequest) async throws -> [GeneratedFile]
}

protocol ImageEditProvider: Sendable {
    var name: String { get }
    var editModel: String { get }
    func edit(_ request: EditRequest) async throws -> [GeneratedFile]
}

protocol VideoProvider: Sendable {
    var name: String { get }
    var videoModel: String { get }
    func video(_ request: VideoRequest) async throws -> GeneratedFile
}

/// A provider's failure, and whether to try again; `retryAfter` is the provider's own hint
/// (a 429's `Retry-After`), which the next attempt waits for at least.
struct ProviderError: Error, CustomStringConvertible {
    let code: String
    let message: String
    let retryable: Bool
    var retryAfter: Duration? = nil
    var description: String { "\(code): \(message)" }
}

/// The user asked to cancel the job while it ran.
struct JobCanceled: Error {}
