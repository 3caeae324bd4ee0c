import Foundation
import ServiceKit

/// The rules a new password must meet: 8 to 128 characters, an upper-case letter and a digit,
/// and not one of the most common passwords (compared without regard to case). Passwords are
/// never trimmed or truncated: what the user typed is what gets hashed.
public struct PasswordPolicy: Sendable {
    public static let minimumLength = 8
    public static let maximumLength = 128

    private let common: Set<String>

    public init(commonPasswords: Set<String>) { self.common = commonPasswords }

    /// The list shipped with the service (zxcvbn's frequency list, 8 characters and longer).
    public static func bundled() throws -> PasswordPolicy {
        guard let url = Bundle.module.url(forResource: "common-passwords", withExtension: "txt") else {
            throw ServiceError(.internalError, reason: "INTERNAL", "common password list is missing")
        }
        let text = try String(contentsOf: url, encoding: .utf8)
        let words = text.split(separator: "\n").filter { !$0.hasPrefix("#") }.map(String.init)
        return PasswordPolicy(commonPasswords: Set(words))
    }

    public func check(_ password: String, field: String = "password") throws(ServiceError) {
        let length = password.count
        guard length >= Self.minimumLength else {
            throw .invalid(field, "password must be at least \(Self.minimumLength) characters")
        }
        guard length <= Self.maximumLength else {
            throw .invalid(field, "password must be at most \(Self.maximumLength) characters")
        }
        guard password.contains(where: \.isUppercase) else {
            throw .invalid(field, "password must contain an uppercase letter")
        }
        guard password.contains(where: { $0.isASCII && $0.isNumber }) else {
            throw .invalid(field, "password must contain a digit")
        }
        guard !common.contains(password.lowercased()) else {
            throw .invalid(field, "password is too common; choose one that is harder to guess")
        }
    }
}
