import ArgumentParser
import AuthService
import Foundation
import Logging
import ServiceKit

/// `atelier migrate`: applies every service's migrations and exits (compose runs it before the services).
struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "migrate", abstract: "Apply database migrations and exit.")

    @Option(help: "Data directory for SQLite.") var dataDir: String?
    @Option(help: "PostgreSQL URL; overrides ATELIER_DATABASE_URL.") var postgres: String?

    func run() async throws {
        var overrides: [String: String] = [:]
        if let dataDir { overrides["data-dir"] = dataDir }
        if let postgres { overrides["database.url"] = postgres }
        let configuration = Configuration().overriding(overrides)
        let logger = Logger(label: "atelier.migrate")
        let verifier = PrincipalSigner.generate().verifier  // migrations check no principal
        for name in ServiceName.allCases {
            let service = try await Stack.service(name, configuration: configuration, verifier: verifier, logger: logger)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await service.database.run() }
                try await service.server.migrate()
                group.cancelAll()
            }
            print("\(name.rawValue): migrated")
        }
    }
}

/// `atelier keys`: a new principal key pair, for an operator's env file.
struct KeysCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "keys", abstract: "Print a new principal key pair.")

    func run() {
        let signer = PrincipalSigner.generate()
        print("ATELIER_PRINCIPAL_PRIVATE_KEY=\(signer.base64PrivateKey)")
        print("ATELIER_PRINCIPAL_PUBLIC_KEY=\(signer.verifier.base64PublicKey)")
    }
}

/// `atelier credential --name NAME`: issues a service credential for a back-office caller and
/// prints it. The caller sends it as the `x-atelier-principal` metadata entry.
struct CredentialCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "credential", abstract: "Issue a service credential.")

    @Option(help: "Who the credential is for.") var name: String
    @Option(help: "Comma-separated roles.") var roles = ""
    @Option(help: "Days until it expires.") var days = 90
    @Option(help: "Data directory (development key and SQLite).") var dataDir: String?

    func run() async throws {
        var overrides: [String: String] = [:]
        if let dataDir { overrides["data-dir"] = dataDir }
        let configuration = Configuration().overriding(overrides)
        let logger = Logger(label: "atelier.credential")
        let signer = try Stack.signer(configuration)
        let database = try await ServiceDatabase.open(service: "auth", configuration: configuration, logger: logger)
        let issued = try await withThrowingTaskGroup(of: (String, String)?.self) { group in
            group.addTask { try await database.run(); return nil }
            let issued = try await ServiceCredentials.issue(
                name: name, roles: roles.split(separator: ",").map(String.init), lifetime: .seconds(days * 86_400),
                signer: signer, database: database,
                schema: ServiceDatabase.schema(service: "auth", configuration: configuration), logger: logger)
            group.cancelAll()
            return issued
        }
        print(issued.token)
    }
}
