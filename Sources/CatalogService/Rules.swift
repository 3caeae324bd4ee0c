import Foundation
import ServiceKit

/// Field checks shared by every catalog write. Each failure is a 400 naming the field in the
/// REST spelling (`styleType`), with the rule it broke.
enum Rules {
    /// Trimmed text, or nil when empty and not required. Control characters other than line
    /// breaks and tabs are refused: they have no place in a name and PostgreSQL refuses NUL.
    static func text(_ value: String?, field: String, max: Int, required: Bool = false) throws -> String? {
        let trimmed = value?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
        if trimmed.isEmpty {
            if required { throw ServiceError.invalid(field, "\(field) is required") }
            return nil
        }
        guard trimmed.count <= max else { throw ServiceError.invalid(field, "\(field) must be at most \(max) characters") }
        try printable(trimmed, field: field)
        return trimmed
    }

    /// Required text: 1 to `max` characters after trimming.
    static func required(_ value: String?, field: String, max: Int) throws -> String {
        guard let text = try text(value, field: field, max: max, required: true) else {
            throw ServiceError.invalid(field, "\(field) is required")
        }
        return text
    }

    static func printable(_ text: String, field: String) throws {
        for scalar in text.unicodeScalars where scalar.properties.generalCategory == .control {
            if scalar == "\n" || scalar == "\t" || scalar == "\r" { continue }
            throw ServiceError.invalid(field, "\(field) must not contain control characters")
        }
    }

    /// A list of short texts: each trimmed and non-empty, duplicates dropped, order kept.
    static func list(_ values: [String], field: String, maxItems: Int, maxLength: Int) throws -> [String] {
        var out: [String] = []
        for value in values {
            guard let item = try text(value, field: field, max: maxLength) else {
                throw ServiceError.invalid(field, "\(field) must not hold empty entries")
            }
            if !out.contains(item) { out.append(item) }
        }
        guard out.count <= maxItems else { throw ServiceError.invalid(field, "\(field) holds at most \(maxItems) entries") }
        return out
    }

    /// Short key-value pairs (physical traits, generation parameters, variant metadata).
    static func map(_ values: [String: String], field: String, maxItems: Int = 30, maxLength: Int = 500) throws -> [String: String] {
        guard values.count <= maxItems else { throw ServiceError.invalid(field, "\(field) holds at most \(maxItems) entries") }
        var out: [String: String] = [:]
        for (key, value) in values {
            guard let name = try text(key, field: field, max: 50) else { throw ServiceError.invalid(field, "\(field) keys must not be empty") }
            out[name] = try text(value, field: field, max: maxLength) ?? ""
        }
        return out
    }

    /// One of a fixed list, compared without regard to case; returns the list's spelling.
    static func oneOf(_ value: String, field: String, allowed: [String]) throws -> String {
        let trimmed = value.trimmingCharacters(in: .whitespaces)
        guard let match = allowed.first(where: { $0.caseInsensitiveCompare(trimmed) == .orderedSame }) else {
            throw ServiceError.invalid(field, "\(field) must be one of \(allowed.joined(separator: ", "))")
        }
        return match
    }

    /// A link to an image, audio file or page: http(s), or a path on this platform's file routes.
    static func url(_ value: String?, field: String, required: Bool = false) throws -> String? {
        guard let text = try text(value, field: field, max: 2048, required: required) else { return nil }
        let lower = text.lowercased()
        guard lower.hasPrefix("https://") || lower.hasPrefix("http://") || lower.hasPrefix("/files/"),
              !text.contains(where: { $0 == " " })
        else { throw ServiceError.invalid(field, "\(field) must be an http(s) URL") }
        return text
    }

    /// An id from a path or a request. Ids are ours (`chr_...`), so anything else cannot name
    /// an object: it is simply not found.
    static func id(_ value: String, field: String, what: String) throws -> String {
        guard !value.isEmpty else { throw ServiceError.invalid(field, "\(field) is required") }
        guard value.count <= 64, value.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-") }) else {
            throw ServiceError.notFound(what)
        }
        return value
    }

    /// The user a service call is about.
    static func userID(_ value: String) throws -> String {
        guard !value.isEmpty else { throw ServiceError.invalid("userId", "userId is required") }
        guard value.count <= 100 else { throw ServiceError.invalid("userId", "userId is at most 100 characters") }
        try printable(value, field: "userId")
        return value
    }

    /// A service's idempotency key: empty (none) or up to 200 printable characters.
    static func idempotencyKey(_ value: String) throws -> String? {
        try text(value, field: "idempotencyKey", max: 200)
    }
}
