import Foundation

/// A structured text request (story, scenes, a visual profile): instructions, the user's part,
/// and the JSON Schema the answer must follow (as JSON text, so the request stays Sendable).
struct TextRequest: Sendable {
    let instructions: String
    let input: String
    let schemaName: String
    let schema: String
    var maxTokens = 2000
    let control: JobControl
}

/// The answer: a JSON object as text, and the tokens it took (the cost basis).
struct TextReply: Sendable {
    let json: String
    let model: String
    let promptTokens: Int
    let completionTokens: Int
}

struct SpeechRequest: Sendable {
    let text: String
    let voice: String
    /// en, es, fr, de or it.
    var language = "en"
    let control: JobControl
}

struct Speech: Sendable {
    let bytes: [UInt8]
    let contentType: String
    let fileExtension: String
    let durationSeconds: Double
    /// Characters narrated: the cost basis.
    let characters: Int
}

protocol TextProvider: Sendable {
    var name: String { get }
    func complete(_ request: TextRequest) async throws -> TextReply
}

protocol SpeechProvider: Sendable {
    var name: String { get }
    /// The model the cost table prices its characters by.
    var speechModel: String { get }
    func speak(_ request: SpeechRequest) async throws -> Speech
}

enum SpeechParts {
    /// Text cut into parts of at most `limit` characters, at a sentence end where there is one,
    /// else at a space: OpenAI's speech takes 4,096 characters a call.
    static func split(_ text: String, limit: Int = 4096) -> [String] {
        var parts: [String] = []
        var rest = Substring(text)
        while rest.count > limit {
            let window = rest.prefix(limit)
            let cut = window.lastIndex { ".!?\n".contains($0) }.map { window.index(after: $0) }
                ?? window.lastIndex(of: " ")
                ?? window.endIndex
            let part = rest[..<cut].trimmingCharacters(in: .whitespacesAndNewlines)
            if !part.isEmpty { parts.append(part) }
            rest = rest[cut...]
        }
        let last = rest.trimmingCharacters(in: .whitespacesAndNewlines)
        if !last.isEmpty { parts.append(last) }
        return parts
    }
}
