import ServiceKit

/// Copies a job's results into the blob store at once (providers delete theirs within the hour),
/// under keys made of the job's id, so a job run twice writes the same files. Results are
/// served from `generated/`; a Free picture's unmarked original goes to `originals/`, which
/// nobody is linked to.
struct ResultStore: Sendable {
    let store: any BlobStore

    struct Stored: Sendable {
        let url: String
        let thumbnailURL: String?
    }

    func store(_ file: GeneratedFile, job: String, index: Int) async throws -> Stored {
        let name = "\(job.lowercased())-\(index)"
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
}
