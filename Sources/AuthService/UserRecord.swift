import AtelierProtos
import Foundation
import ServiceKit
import SwiftProtobuf

/// A row of `users`, as the auth service reads it.
struct UserRecord: Sendable {
    var id, email, passwordHash: String
    var name: String?
    var emailVerifiedAt: Date?
    var preferredLanguage, themePreference, contentFilterLevel: String
    var roles: [String]
    var createdAt, updatedAt, lastSeenAt: Date

    static let columns: [SQLIdentifier] = [
        "id", "email", "password_hash", "name", "email_verified_at", "preferred_language", "theme_preference",
        "content_filter_level", "roles", "created_at", "updated_at", "last_seen_at",
    ]

    init(row: SQLRow) throws {
        id = try row.string("id")
        email = try row.string("email")
        passwordHash = try row.string("password_hash")
        name = try row.optionalString("name")
        emailVerifiedAt = try row.optionalDate("email_verified_at")
        preferredLanguage = try row.string("preferred_language")
        themePreference = try row.string("theme_preference")
        contentFilterLevel = try row.string("content_filter_level")
        roles = try row.string("roles").split(separator: ",").map(String.init)
        createdAt = try row.date("created_at")
        updatedAt = try row.date("updated_at")
        lastSeenAt = try row.date("last_seen_at")
    }

    /// The user as the API shows it; `plan` comes from the caller's principal.
    func message(plan: String) -> Atelier_Auth_V1_User {
        var user = Atelier_Auth_V1_User()
        user.id = id
        user.email = email
        if let name { user.name = name }
        user.emailVerified = emailVerifiedAt != nil
        user.preferredLanguage = preferredLanguage
        user.themePreference = ProfileRules.theme(named: themePreference)
        user.contentFilterLevel = ProfileRules.filterLevel(named: contentFilterLevel)
        user.subscriptionTier = plan.isEmpty ? "free" : plan
        user.roles = roles
        user.createdAt = Google_Protobuf_Timestamp(date: createdAt)
        user.updatedAt = Google_Protobuf_Timestamp(date: updatedAt)
        user.lastSeenAt = Google_Protobuf_Timestamp(date: lastSeenAt)
        return user
    }
}
