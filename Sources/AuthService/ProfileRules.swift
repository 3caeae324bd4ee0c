import AtelierProtos
import ServiceKit

/// The values a profile may hold. Languages are the union of the seeds' lists (InfiniteStories'
/// story languages and the character platform's interface languages); see README, "Choices".
enum ProfileRules {
    static let languages: Set<String> = ["en", "es", "fr", "de", "it", "zh", "ja", "ko"]
    static let nameMaximumLength = 100

    static func theme(named name: String) -> Atelier_Auth_V1_ThemePreference {
        switch name {
        case "light": .light
        case "dark": .dark
        default: .system
        }
    }

    static func themeName(_ theme: Atelier_Auth_V1_ThemePreference) -> String? {
        switch theme {
        case .system: "system"
        case .light: "light"
        case .dark: "dark"
        case .unspecified, .UNRECOGNIZED: nil
        }
    }

    static func filterLevel(named name: String) -> Atelier_Auth_V1_ContentFilterLevel {
        switch name {
        case "strict": .strict
        case "relaxed": .relaxed
        default: .moderate
        }
    }

    static func filterLevelName(_ level: Atelier_Auth_V1_ContentFilterLevel) -> String? {
        switch level {
        case .strict: "strict"
        case .moderate: "moderate"
        case .relaxed: "relaxed"
        case .unspecified, .UNRECOGNIZED: nil
        }
    }

    /// A display name: trimmed, at most 100 characters, no control characters. Empty clears it.
    static func name(_ raw: String, field: String = "name") throws(ServiceError) -> String? {
        let name = raw.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !name.isEmpty else { return nil }
        guard name.count <= nameMaximumLength else {
            throw .invalid(field, "name must be at most \(nameMaximumLength) characters")
        }
        guard !name.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw .invalid(field, "name must not contain control characters")
        }
        return name
    }

    static func language(_ raw: String, field: String = "preferredLanguage") throws(ServiceError) -> String {
        let language = raw.lowercased()
        guard languages.contains(language) else {
            throw .invalid(field, "preferredLanguage must be one of \(languages.sorted().joined(separator: ", "))")
        }
        return language
    }
}

/// The profile fields a PATCH changes; nil means "leave as is". `name` is doubly optional:
/// `.some(nil)` clears the name.
struct ProfileChanges: Sendable {
    var name: String??
    var preferredLanguage: String?
    var themePreference: String?
    var contentFilterLevel: String?

    init(_ request: Atelier_Auth_V1_UpdateProfileRequest) throws(ServiceError) {
        if request.hasName { name = .some(try ProfileRules.name(request.name)) }
        if request.hasPreferredLanguage { preferredLanguage = try ProfileRules.language(request.preferredLanguage) }
        if case .UNRECOGNIZED = request.themePreference {
            throw .invalid("themePreference", "themePreference must be one of system, light, dark")
        }
        themePreference = ProfileRules.themeName(request.themePreference)
        if case .UNRECOGNIZED = request.contentFilterLevel {
            throw .invalid("contentFilterLevel", "contentFilterLevel must be one of strict, moderate, relaxed")
        }
        contentFilterLevel = ProfileRules.filterLevelName(request.contentFilterLevel)
    }
}
