import Foundation
import Logging
import ServiceKit

/// Service credentials for back-office callers: a long-lived service principal, signed with the
/// principal key and recorded in `service_credentials`, so every credential ever issued can be
/// listed, traced by its id and revoked before it expires.
public enum ServiceCredentials {
    public static func issue(name: String, roles: [String], lifetime: Duration, signer: PrincipalSigner,
                             database: any Database, schema: String, logger: Logger) async throws -> (id: String, token: String) {
        guard !name.isEmpty, name.count <= 100 else { throw ServiceError.invalid("name", "name must be 1 to 100 characters") }
        for role in roles where role.isEmpty || role.count > 50 || !role.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }) {
            throw ServiceError.invalid("roles", "roles are names of letters, digits, '-' and '_' (got '\(role)')")
        }
        try await AuthMigrations.migrator.migrate(database, schema: schema, logger: logger)
        let id = SecureRandom.id(prefix: "cred")
        let now = Date.databaseNow
        let token = try signer.service(name: name, roles: roles, credentialID: id, lifetime: lifetime, now: now)
        let roleList = roles.joined(separator: ",")
        let expiresAt = now.addingTimeInterval(TimeInterval(lifetime.components.seconds))
        try await database.query("""
            INSERT INTO service_credentials (id, name, roles, created_at, expires_at) VALUES (\(id), \(name), \(roleList), \(now), \(expiresAt))
            """)
        return (id, token)
    }

    /// Revokes a credential: from now on it is refused, by auth at once and by other services
    /// once the answer they keep expires (`CredentialCheck`). Returns false for an unknown id.
    public static func revoke(id: String, database: any Database, schema: String, logger: Logger) async throws -> Bool {
        try await AuthMigrations.migrator.migrate(database, schema: schema, logger: logger)
        return try await database.first("""
            UPDATE service_credentials SET revoked_at = COALESCE(revoked_at, \(Date.databaseNow)) WHERE id = \(id) RETURNING id
            """) != nil
    }

    /// Whether a recorded credential is in force: known, not revoked and not expired.
    static func isActive(_ db: any SQLExecutor, id: String, now: Date) async throws -> Bool {
        try await db.first("""
            SELECT id FROM service_credentials WHERE id = \(id) AND revoked_at IS NULL AND expires_at > \(now)
            """) != nil
    }
}

/// Auth checks back-office credentials against its own records.
struct RecordedCredentials: CredentialCheck {
    let database: any Database
    let answers: CredentialAnswers

    func isActive(credentialID: String, token: String) async throws -> Bool {
        try await answers.answer(for: credentialID) {
            try await ServiceCredentials.isActive(database, id: credentialID, now: Date.databaseNow)
        }
    }
}
