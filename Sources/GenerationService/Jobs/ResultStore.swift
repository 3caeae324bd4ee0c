import Foundation
import ServiceKit

/// Copies a job's results into the blob store at once (providers delete theirs within the hour),
/// under keys made of the job's id, so a job run twice writes the same files. Results are
/// served from `generated/`; a Free picture's unmarked original goes to `originals/`, which
/// nobody is linked to. It also reads the pictures a job starts from (a character's image, an
/// uploaded photo) and deletes a deleted account's results.
struct ResultStore: Sendable {
    let store: any BlobStore
    /// The largest source picture handed to a provider.
    static let sourceLimit = 20 << 20

    struct Stored: Sendable {
        let url: String
        let thumbnailURL: String?
    }

    func store(_ file: GeneratedFile, job: String, index: Int) async throws -> Stored {
        let name = Self.name(job: job, index: index)
        let key = "\(GeneratedFiles.folder)/\(name).\(file.fileExtension)"
        try await store.write(key: key, bytes: file.bytes, contentType: file.contentType)
        if let original = file.original {
            try await store.write(key: "\(GeneratedFiles.originals)/\(name).\(file.fileExtension)", bytes: original, contentType: file.contentType)
        }
        var thumbnailURL: String?
        if let thumbnail = file.thumbnail {
            let thumbnailKey = "\(GeneratedFiles.folder)/\(name)-thumb.png"
            try await store.write(key: thumbnailKey, bytes: thumbnail, contentType: "image/png")
            thumbnailURL = try store.permanentURL(key: thumbnailKey).absoluteString
        }
        return Stored(url: try store.permanentURL(key: key).absoluteString, thumbnailURL: thumbnailURL)
    }

    static func name(job: String, index: Int) -> String { "\(job.lowercased())-\(index)" }

    /// The picture behind one of our own links (a media's URL).
    func source(url text: String) async throws -> SourceImage {
        guard let url = URL(string: text), let key = store.key(forURL: url) else {
            throw SourceUnavailable(description: "the source picture is not one of ours")
        }
        return try await source(key: key)
    }

    func source(key: String) async throws -> SourceImage {
        guard StorageKey.isValid(key), let bytes = try await store.read(key: key, limit: Self.sourceLimit) else {
            throw SourceUnavailable(description: "the source picture \(key) is gone")
        }
        let type = PNGDecoder.isPNG(bytes) ? "image/png" : bytes.starts(with: [0xFF, 0xD8]) ? "image/jpeg" : bytes.starts(with: Array("RIFF".utf8)) ? "image/webp" : "image/png"
        return SourceImage(bytes: bytes, contentType: type)
    }

    /// Deletes every file a job may have written (results, thumbnails, originals, for each
    /// index it could have reached and each kind of file a provider sends); a file that is not
    /// there is not an error.
    func delete(job: String, count: Int) async {
        for index in 0..<max(count, 1) {
            let name = Self.name(job: job, index: index)
            var keys = ["\(GeneratedFiles.folder)/\(name)-thumb.png"]
            for fileExtension in ["png", "jpg", "mp4", "wav", "mp3"] {
                keys += ["\(GeneratedFiles.folder)/\(name).\(fileExtension)", "\(GeneratedFiles.originals)/\(name).\(fileExtension)"]
            }
            for key in keys { try? await store.delete(key: key) }
        }
    }
}

struct SourceUnavailable: Error, CustomStringConvertible {
    let description: String
}

extension ResultStore {
    /// A narration, under the job's key: `generated/<job>-0.<ext>`.
    func storeAudio(_ speech: Speech, job: String) async throws -> String {
        let key = "\(GeneratedFiles.folder)/\(Self.name(job: job, index: 0)).\(speech.fileExtension)"
        try await store.write(key: key, bytes: speech.bytes, contentType: speech.contentType)
        return try store.permanentURL(key: key).absoluteString
    }
}
