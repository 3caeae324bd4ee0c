import Foundation
import Logging
import ServiceKit

/// Service credentials for back-office callers: a long-lived service principal, signed with the
/// principal key and recorded in `service_credentials` so every credential ever issued can be
/// listed and traced by its id.
public enum ServiceCredentials {
    public static func issue(name: String, roles: [String], lifetime: Duration, signer: PrincipalSigner,
                             database: any Database, schema: String, logger: Logger) async throws -> (id: String, token: String) {
        guard !name.isEmpty, name.count <= 100 else { throw ServiceError.invalid("name", "name must be 1 to 100 characters") }
        try await AuthMigrations.migrator.migrate(database, schema: schema, logger: logger)
        let id = SecureRandom.id(prefix: "cred")
        let now = Date.databaseNow
        let token = try signer.service(name: name, roles: roles, credentialID: id, lifetime: lifetime, now: now)
        try await database.query("""
            INSERT INTO service_credentials (id, name, roles, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)
            """, .text(id), .text(name), .text(roles.joined(separator: ",")), .time(now),
            .time(now.addingTimeInterval(TimeInterval(lifetime.components.seconds))))
        return (id, token)
    }
}
