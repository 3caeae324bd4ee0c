import Foundation
import Logging

/// Opens a service's own database from configuration: PostgreSQL when `database.url` is set (the
/// service's tables in a schema named after it), otherwise SQLite at `<data-dir>/<service>.sqlite`.
///
/// - database.url (string, default none): PostgreSQL URL, `postgres://user:password@host:5432/db`
/// - database.max-connections (int, default 16): PostgreSQL pool size per service
/// - database.schema-prefix (string, default none): prefix of the per-service PostgreSQL schemas
/// - data-dir (string, default ./.atelier): where SQLite files live
public enum ServiceDatabase {
    /// The PostgreSQL schema that holds a service's tables: its name, after an optional prefix.
    public static func schema(service: String, configuration: Configuration) -> String {
        configuration.string("database.schema-prefix", default: "") + service
    }

    public static func open(service: String, configuration: Configuration, logger: Logger) async throws -> any Database {
        if let url = configuration.string("\(service).database.url") ?? configuration.string("database.url") {
            let maxConnections = try configuration.int("database.max-connections", default: 16, range: 1...1000)
            return try PostgresDatabase.make(url: url, schema: schema(service: service, configuration: configuration), maxConnections: maxConnections, logger: logger)
        }
        let directory = configuration.string("data-dir", default: "./.atelier")
        return try await SQLiteDatabase.open(path: "\(directory)/\(service).sqlite", logger: logger)
    }
}
