import ArgumentParser
import Foundation
import Logging
import ServiceKit
import ServiceLifecycle

/// `atelier dev`: all five services in one process, each listening on its own port; calls
/// between them skip the socket (the same messages through the same server interceptors) unless
/// `calls.in-process` is false. SQLite files in the data directory unless `--postgres` is given.
///
/// - calls.in-process (bool, default true): whether the services of this process call each
///   other without a socket

struct DevCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "dev", abstract: "Run every service in one process for development.")

    @Option(help: "HTTP port of the edge; the gRPC services take the next four unless set.") var port = 8080
    @Option(help: "gRPC port of the auth service.") var authPort: Int?
    @Option(help: "gRPC port of the catalog service.") var catalogPort: Int?
    @Option(help: "gRPC port of the generation service.") var generationPort: Int?
    @Option(help: "gRPC port of the commerce service.") var commercePort: Int?
    @Option(help: "Where SQLite files, blobs and the development principal key live.") var dataDir = "./.atelier"
    @Option(help: "Run on PostgreSQL instead of SQLite, each service in its own schema.") var postgres: String?
    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.") var logLevel = "info"

    func run() async throws {
        guard let level = Logger.Level(rawValue: logLevel) else {
            throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error, critical")
        }
        JSONLogHandler.bootstrap(level: level)
        let logger = Logger(label: "atelier")
        let ports = [authPort, catalogPort, generationPort, commercePort]
        var overrides = ["edge.port": String(port), "data-dir": dataDir]
        for (offset, service) in ServiceName.allCases.enumerated() {
            let chosen = ports[offset] ?? (port == 0 ? 0 : port + offset + 1)
            overrides["\(service.rawValue).port"] = String(chosen)
        }
        if let postgres { overrides["database.url"] = postgres }
        // Checkout pages and their return links point at this edge unless told otherwise.
        if Configuration().string("public-url") == nil, port != 0 { overrides["public-url"] = "http://127.0.0.1:\(port)" }
        var configuration = Configuration().overriding(overrides)
        do {
            let signer = try Stack.signer(configuration)
            // This process holds the key, so generation's credential is signed here unless given.
            if configuration.string("generation.credential") == nil {
                configuration = configuration.overriding(["generation.credential": try signer.generationCredential()])
            }
            var services: [HostedService] = []
            let directory = ServiceDirectory(inProcessCalls: try configuration.bool("calls.in-process", default: true))
            for name in ServiceName.allCases {
                services.append(try await Stack.service(name, configuration: configuration, verifier: signer.verifier, logger: logger,
                                                        directory: directory))
            }
            let launcher = EdgeLauncher(configuration: configuration, services: services, signer: signer, directory: directory,
                                        logger: logger)
            let group = try Stack.group(services.flatMap(\.lifecycle) + [launcher], configuration: configuration, logger: logger)
            try await group.run()
        } catch let error as ConfigurationError {
            throw ValidationError(error.description)
        }
    }
}
