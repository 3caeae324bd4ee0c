import Foundation
import ServiceKit

/// The databases a test runs on: SQLite always, PostgreSQL when `ATELIER_TEST_POSTGRES_URL`
/// names a server (scripts/test starts a throwaway one and sets `ATELIER_TEST_REQUIRE_POSTGRES`,
/// so CI can never skip it silently).
public enum TestBackend: String, CaseIterable, Sendable {
    case sqlite, postgres

    public static var postgresURL: String? {
        ProcessInfo.processInfo.environment["ATELIER_TEST_POSTGRES_URL"].flatMap { $0.isEmpty ? nil : $0 }
    }

    public static var available: [TestBackend] {
        if postgresURL != nil { return [.sqlite, .postgres] }
        precondition(ProcessInfo.processInfo.environment["ATELIER_TEST_REQUIRE_POSTGRES"] == nil,
                     "ATELIER_TEST_REQUIRE_POSTGRES is set but ATELIER_TEST_POSTGRES_URL is not")
        return [.sqlite]
    }

    /// How the services of a test stack call each other, so every REST test runs in both
    /// topologies: on SQLite as `atelier dev` does (in the process, no socket), on PostgreSQL as
    /// separate `atelier serve` processes do (HTTP/2 over loopback, the lean client).
    /// `ATELIER_TEST_CALLS=in-process` or `network` makes every test use one of them.
    public var callsInProcess: Bool {
        switch ProcessInfo.processInfo.environment["ATELIER_TEST_CALLS"] {
        case "in-process": true
        case "network": false
        default: self == .sqlite
        }
    }

    /// Configuration that gives each test a database of its own: a fresh SQLite directory, or
    /// fresh schemas on the shared PostgreSQL server.
    public func isolatedConfiguration() -> [String: String] {
        let unique = SecureRandom.hex(6)
        switch self {
        case .sqlite:
            return ["data-dir": FileManager.default.temporaryDirectory.appendingPathComponent("atelier-test-\(unique)").path]
        case .postgres:
            // Files (the local blob store, keys) still live in a data directory of their own.
            return ["database.url": Self.postgresURL ?? "", "database.schema-prefix": "t\(unique)_", "database.max-connections": "8",
                    "data-dir": FileManager.default.temporaryDirectory.appendingPathComponent("atelier-test-\(unique)").path]
        }
    }
}

