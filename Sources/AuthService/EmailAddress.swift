import Foundation
import ServiceKit

/// Email addresses are stored normalised: trimmed, Unicode NFC, lower-cased, so that
/// `Ada@Example.com ` and `ada@example.com` are one account.
enum EmailAddress {
    static let maximumLength = 254

    static func normalise(_ raw: String) -> String {
        raw.trimmingCharacters(in: .whitespacesAndNewlines).precomposedStringWithCanonicalMapping.lowercased()
    }

    /// The normalised address, or a 400 naming the field. The shape is the seed's CHECK constraint:
    /// local part of letters, digits and `._%+-`, a domain with a dot and a top-level part of two letters or more.
    static func validated(_ raw: String, field: String = "email") throws(ServiceError) -> String {
        let email = normalise(raw)
        guard !email.isEmpty else { throw .invalid(field, "email is required") }
        guard email.utf8.count <= maximumLength else { throw .invalid(field, "email must be at most \(maximumLength) characters") }
        guard isWellFormed(email) else { throw .invalid(field, "email is not a valid address") }
        return email
    }

    static func isWellFormed(_ email: String) -> Bool {
        let parts = email.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2 else { return false }
        let local = parts[0], domain = parts[1]
        let localAllowed = Set("abcdefghijklmnopqrstuvwxyz0123456789._%+-")
        let domainAllowed = Set("abcdefghijklmnopqrstuvwxyz0123456789.-")
        guard !local.isEmpty, local.count <= 64, local.allSatisfy(localAllowed.contains) else { return false }
        guard domain.allSatisfy(domainAllowed.contains), !domain.hasPrefix("."), !domain.hasSuffix("."),
              !domain.contains("..") else { return false }
        guard let dot = domain.lastIndex(of: "."), dot != domain.startIndex else { return false }
        let tld = domain[domain.index(after: dot)...]
        return tld.count >= 2 && tld.allSatisfy(\.isLetter)
    }
}
