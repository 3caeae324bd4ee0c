import AuthService
import CatalogService
import CommerceService
import Edge
import Foundation
import GenerationService
import Logging
import ServiceKit
import ServiceLifecycle

/// Builds services from configuration, as `dev` and `serve` run them.
enum Stack {
    static func service(_ name: ServiceName, configuration: Configuration, verifier: PrincipalVerifier, logger: Logger,
                        directory: ServiceDirectory? = nil) async throws -> HostedService {
        let logger = Logger(label: "atelier.\(name.rawValue)")
        switch name {
        case .auth: return try await AuthServer.make(configuration: configuration, verifier: verifier, logger: logger, directory: directory)
        case .catalog: return try await CatalogServer.make(configuration: configuration, verifier: verifier, logger: logger, directory: directory)
        case .generation: return try await GenerationServer.make(configuration: configuration, verifier: verifier, logger: logger, directory: directory)
        case .commerce: return try await CommerceServer.make(configuration: configuration, verifier: verifier, logger: logger, directory: directory)
        }
    }

    /// The principal key of a development data directory, created on first use (mode 0600).
    static func developmentSigner(dataDirectory: String) throws -> PrincipalSigner {
        let path = "\(dataDirectory)/principal.key"
        if let text = try? String(contentsOfFile: path, encoding: .utf8) {
            return try PrincipalSigner(base64PrivateKey: text.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        try FileManager.default.createDirectory(atPath: dataDirectory, withIntermediateDirectories: true)
        let signer = PrincipalSigner.generate()
        // Without the saved key, the next start would sign with a new one and every
        // principal and file link of this one would stop verifying: fail now instead.
        guard FileManager.default.createFile(atPath: path, contents: Data(signer.base64PrivateKey.utf8),
                                             attributes: [.posixPermissions: 0o600]) else {
            throw ConfigurationError.invalid(key: "data-dir", value: dataDirectory, expected: "a writable directory for principal.key")
        }
        return signer
    }

    /// The process's service group: started in order, stopped in reverse on SIGTERM or SIGINT, and
    /// cancelled if draining takes longer than `shutdown-seconds` (default 30), so a stuck
    /// call cannot keep a stopping process alive.
    ///
    /// - shutdown-seconds (number, default 30): how long a graceful shutdown may take
    static func group(_ services: [any Service], configuration: Configuration, logger: Logger) throws -> ServiceGroup {
        var group = ServiceGroupConfiguration(services: services.map { .init(service: $0) },
                                              gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        group.maximumGracefulShutdownDuration = try configuration.seconds("shutdown-seconds", default: 30)
        return ServiceGroup(configuration: group)
    }

    /// The signer from `principal.private-key`, or the development key of the data directory.
    static func signer(_ configuration: Configuration) throws -> PrincipalSigner {
        if let key = configuration.string("principal.private-key") { return try PrincipalSigner(base64PrivateKey: key) }
        return try developmentSigner(dataDirectory: configuration.string("data-dir", default: "./.atelier"))
    }
}

/// Starts the edge once the services it calls are listening, so ports chosen by the system
/// (port 0) are known before the edge connects, then logs the one "ready" line.
struct EdgeLauncher: Service {
    let configuration: Configuration
    let services: [HostedService]
    let signer: PrincipalSigner
    let directory: ServiceDirectory
    let logger: Logger

    func run() async throws {
        var overrides: [String: String] = [:]
        var ports: Logger.Metadata = [:]
        for service in services {
            let port = try await service.server.listeningPort()
            overrides["\(service.name.rawValue).port"] = String(port)
            ports[service.name.rawValue] = "\(port)"
        }
        let edge = try EdgeServer.make(configuration: configuration.overriding(overrides), signer: signer,
                                       logger: Logger(label: "atelier.edge"), directory: directory)
        let logger = self.logger
        let servicePorts = ports
        let announce = ReadyAnnouncement {
            var ports = servicePorts
            ports["edge"] = "\(await edge.port())"
            logger.info("atelier ready: every service is listening", metadata: ports)
        }
        let group = ServiceGroup(configuration: .init(services: edge.lifecycle.map { .init(service: $0) } + [.init(service: announce)],
                                                      logger: logger))
        try await group.run()
    }
}

/// Runs a piece of start-up work once, then waits for shutdown.
struct ReadyAnnouncement: Service {
    let work: @Sendable () async -> Void

    func run() async throws {
        await work()
        try? await gracefulShutdown()
    }
}
