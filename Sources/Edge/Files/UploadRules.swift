/// What `POST /api/files/upload` accepts (PRD 6.7): four categories, the file types each takes,
/// and the size limits (10 MB for images, 50 MB for audio).
enum UploadRules {
    static let categories = ["avatar", "illustration", "audio", "pictogram"]
    static let imageTypes = ["image/png": "png", "image/jpeg": "jpg", "image/webp": "webp", "image/gif": "gif"]
    static let audioTypes = ["audio/mpeg": "mp3", "audio/mp4": "m4a", "audio/aac": "aac", "audio/wav": "wav",
                             "audio/x-wav": "wav", "audio/ogg": "ogg", "audio/webm": "weba"]
    static let maxImageBytes = 10 << 20
    static let maxAudioBytes = 50 << 20

    /// The folder a category's files go in: `avatars/…`, as the PRD's storage keys read.
    static func folder(_ category: String) -> String {
        category == "audio" ? "audio" : category + "s"
    }

    /// The extension for a type the category accepts, or nil.
    static func fileExtension(category: String, mimeType: String) -> String? {
        category == "audio" ? audioTypes[mimeType] : imageTypes[mimeType]
    }

    static func maxBytes(category: String) -> Int {
        category == "audio" ? maxAudioBytes : maxImageBytes
    }

    static func contentType(forExtension ext: String) -> String {
        (imageTypes.first { $0.value == ext } ?? audioTypes.first { $0.value == ext })?.key ?? "application/octet-stream"
    }
}
