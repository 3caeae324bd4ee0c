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

/// `atelier credential --name NAME --roles a,b`: issues a service credential for a back-office
/// caller and prints it; the caller sends it as the `x-atelier-principal` metadata entry. Each
/// services-only RPC names the roles it admits (proto/, `(atelier.api.v1.services)`).
/// `atelier credential --revoke ID` revokes one before it expires.
struct CredentialCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "credential", abstract: "Issue or revoke a service credential.")

    @Option(help: "Who the credential is for.") var name: String?
    @Option(help: "Comma-separated roles: edge, generation, admin, reporting.") var roles = ""
    @Option(help: "Days until it expires.") var days = 90
    @Option(help: "Revoke the credential with this id (printed to stderr when it was issued) instead.") var revoke: String?
    @Option(help: "Data directory (development key and SQLite).") var dataDir: String?

    func run() async throws {
        var overrides: [String: String] = [:]
        if let dataDir { overrides["data-dir"] = dataDir }
        let configuration = Configuration().overriding(overrides)
        let logger = Logger(label: "atelier.credential")
        let database = try await ServiceDatabase.open(service: "auth", configuration: configuration, logger: logger)
        let schema = ServiceDatabase.schema(service: "auth", configuration: configuration)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await database.run() }
            defer { group.cancelAll() }
            if let revoke {
                guard try await ServiceCredentials.revoke(id: revoke, database: database, schema: schema, logger: logger) else {
                    throw ValidationError("no credential has the id \(revoke)")
                }
                FileHandle.standardError.write(Data("revoked \(revoke)\n".utf8))
                return
            }
            guard let name else { throw ValidationError("--name is required to issue a credential") }
            let issued = try await ServiceCredentials.issue(
                name: name, roles: roles.split(separator: ",").map(String.init), lifetime: .seconds(days * 86_400),
                signer: try Stack.signer(configuration), database: database, schema: schema, logger: logger)
            FileHandle.standardError.write(Data("credential \(issued.id) for \(name)\n".utf8))
            print(issued.token)
        }
    }
}
