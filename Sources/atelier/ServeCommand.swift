import ArgumentParser
import Edge
import Logging
import ServiceKit
import ServiceLifecycle

/// `atelier serve <service>`: one service, configured by environment (`ATELIER_*`), as compose runs it.
///
/// - principal.public-key (string, required for auth, catalog, generation, commerce): verifies principals
/// - principal.private-key (secret, required for edge): signs principals
/// - log-level (string, default info)
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "serve", abstract: "Run one service, configured by environment.")

    @Argument(help: "auth, catalog, generation, commerce or edge") var service: String

    func run() async throws {
        let configuration = Configuration()
        guard let level = Logger.Level(rawValue: configuration.string("log-level", default: "info")) else {
            throw ValidationError(ConfigurationError.invalid(key: "log-level", value: configuration.string("log-level", default: ""),
                                                             expected: "trace, debug, info, notice, warning, error or critical").description)
        }
        JSONLogHandler.bootstrap(level: level)
        let logger = Logger(label: "atelier.\(service)")
        do {
            let services: [any Service]
            if service == "edge" {
                let signer = try PrincipalSigner(base64PrivateKey: try configuration.require("principal.private-key"))
                services = try EdgeServer.make(configuration: configuration, signer: signer, logger: logger).lifecycle
            } else if let name = ServiceName(rawValue: service) {
                let verifier = try PrincipalVerifier(base64PublicKey: try configuration.require("principal.public-key"))
                services = try await Stack.service(name, configuration: configuration, verifier: verifier, logger: logger).lifecycle
            } else {
                throw ValidationError("unknown service '\(service)': expected auth, catalog, generation, commerce or edge")
            }
            let group = try Stack.group(services, configuration: configuration, logger: logger)
            try await group.run()
        } catch let error as ConfigurationError {
            throw ValidationError(error.description)
        }
    }
}
