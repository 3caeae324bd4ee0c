import AuthService
import CatalogService
import CommerceService
import Edge
import Foundation
import GenerationService
import Logging
import ServiceKit
import ServiceLifecycle

/// Services (and optionally the edge) running in this process on ports the system chooses,
/// each with a database of its own, stopped gracefully by `stop()`.
public final class TestStack: Sendable {
    public let configuration: Configuration
    public let signer: PrincipalSigner
    public let services: [ServiceName: HostedService]
    public let ports: [ServiceName: Int]
    public let edgePort: Int?
    /// Where auth's mail goes: a local SMTP server, since without SMTP mail goes to the log only.
    public let mailbox: FakeSMTPServer?
    private let serviceGroup: ServiceGroup
    private let serviceTask: Task<Void, any Error>
    private let edgeGroup: ServiceGroup?
    private let edgeTask: Task<Void, any Error>?

    /// Fast password hashing for tests, and no per-address rate limits (every test client is
    /// 127.0.0.1); the production defaults and the limits have tests of their own.
    public static let testOverrides = ["auth.scrypt-log-n": "10", "auth.hash-threads": "2", "edge.rate-limits": "false"]

    /// - Parameters:
    ///   - clock: the time the services read (commerce's ledger), when a test moves it itself.
    ///   - logger: where the services log, when a test reads what they logged (`CapturedLog`).
    ///   - mail: whether auth delivers mail over SMTP to `mailbox`; without, mail goes to the log only.
    public static func start(
        _ backend: TestBackend, services names: [ServiceName] = ServiceName.allCases, edge: Bool = false,
        overrides: [String: String] = [:], clock: ServiceClock = .system, logger: Logger = Logger(label: "test"), mail: Bool = true
    ) async throws -> TestStack {
        var values = testOverrides.merging(backend.isolatedConfiguration()) { $1 }
        for name in ServiceName.allCases { values["\(name.rawValue).port"] = "0" }
        values["edge.port"] = "0"
        var mailbox: FakeSMTPServer?
        if mail, names.contains(.auth), overrides["mail.smtp-host"] == nil {
            let server = try await FakeSMTPServer.start()
            mailbox = server
            values.merge(["mail.smtp-host": "127.0.0.1", "mail.smtp-port": String(server.port), "mail.poll-seconds": "2"]) { $1 }
        }
        var configuration = Configuration(environment: [:]).overriding(values.merging(overrides) { $1 })
        let signer = PrincipalSigner.generate()
        if configuration.string("generation.credential") == nil {
            configuration = configuration.overriding(["generation.credential": try signer.generationCredential()])
        }
        let directory = ServiceDirectory(inProcessCalls: backend.callsInProcess)
        var services: [ServiceName: HostedService] = [:]
        for name in names {
            services[name] = try await Self.make(name, configuration: configuration, verifier: signer.verifier, logger: logger,
                                                 clock: clock, directory: directory)
        }
        let serviceGroup = ServiceGroup(configuration: .init(
            services: names.compactMap { services[$0] }.flatMap(\.lifecycle).map { .init(service: $0) }, logger: logger))
        let serviceTask = Task { try await serviceGroup.run() }
        var ports: [ServiceName: Int] = [:]
        for (name, service) in services {
            ports[name] = try await service.server.listeningPort()
            configuration = configuration.overriding(["\(name.rawValue).port": String(ports[name]!)])
        }
        var edgeGroup: ServiceGroup?
        var edgeTask: Task<Void, any Error>?
        var edgePort: Int?
        if edge {
            let server = try EdgeServer.make(configuration: configuration, signer: signer, logger: logger, directory: directory)
            let group = ServiceGroup(configuration: .init(services: server.lifecycle.map { .init(service: $0) }, logger: logger))
            edgeGroup = group
            edgeTask = Task { try await group.run() }
            edgePort = await server.port()
        }
        return TestStack(configuration: configuration, signer: signer, services: services, ports: ports, edgePort: edgePort,
                         mailbox: mailbox, serviceGroup: serviceGroup, serviceTask: serviceTask, edgeGroup: edgeGroup, edgeTask: edgeTask)
    }

    private init(configuration: Configuration, signer: PrincipalSigner, services: [ServiceName: HostedService],
                 ports: [ServiceName: Int], edgePort: Int?, mailbox: FakeSMTPServer?, serviceGroup: ServiceGroup,
                 serviceTask: Task<Void, any Error>, edgeGroup: ServiceGroup?, edgeTask: Task<Void, any Error>?) {
        self.configuration = configuration
        self.signer = signer
        self.services = services
        self.ports = ports
        self.edgePort = edgePort
        self.mailbox = mailbox
        self.serviceGroup = serviceGroup
        self.serviceTask = serviceTask
        self.edgeGroup = edgeGroup
        self.edgeTask = edgeTask
    }

    static func make(_ name: ServiceName, configuration: Configuration, verifier: PrincipalVerifier, logger: Logger,
                     clock: ServiceClock, directory: ServiceDirectory? = nil) async throws -> HostedService {
        switch name {
        case .auth: try await AuthServer.make(configuration: configuration, verifier: verifier, logger: logger, directory: directory)
        case .catalog: try await CatalogServer.make(configuration: configuration, verifier: verifier, logger: logger, directory: directory)
        case .generation: try await GenerationServer.make(configuration: configuration, verifier: verifier, logger: logger, directory: directory)
        case .commerce:
            try await CommerceServer.make(configuration: configuration, verifier: verifier, logger: logger, directory: directory, clock: clock)
        }
    }

    public func database(_ name: ServiceName) -> any Database {
        services[name]!.database  // '!' is fine: tests ask only for services they started.
    }

    public func stop() async {
        if let edgeGroup {
            await edgeGroup.triggerGracefulShutdown()
            _ = try? await edgeTask?.value
        }
        await serviceGroup.triggerGracefulShutdown()
        _ = try? await serviceTask.value
        try? await mailbox?.stop()
    }

    /// The one-time token of the newest message of `kind` ("verify_email", "reset_password") that
    /// reached `email`'s mailbox, other than `excluding`, waiting up to `within` for its delivery.
    public func mailedToken(to email: String? = nil, kind: String, excluding: String? = nil,
                            within: Duration = .seconds(10)) async throws -> String? {
        let link = kind == "reset_password" ? "/reset-password?token=" : "/verify-email?token="
        let clock = ContinuousClock()
        let deadline = clock.now + within
        repeat {
            for delivery in (mailbox?.deliveries ?? []).reversed() where email.map({ delivery.recipients.contains($0) }) ?? true {
                guard let range = delivery.decodedBody.range(of: link) else { continue }
                let token = String(delivery.decodedBody[range.upperBound...].prefix(64))
                if token != excluding { return token }
                break
            }
            try await Task.sleep(for: .milliseconds(50))
        } while clock.now < deadline
        return nil
    }

    /// Runs `body` against a fresh stack and stops it afterwards, whether `body` throws or not.
    public static func with<T>(
        _ backend: TestBackend, services: [ServiceName] = ServiceName.allCases, edge: Bool = false,
        overrides: [String: String] = [:], clock: ServiceClock = .system, logger: Logger = Logger(label: "test"), mail: Bool = true,
        _ body: (TestStack) async throws -> T
    ) async throws -> T {
        let stack = try await start(backend, services: services, edge: edge, overrides: overrides, clock: clock, logger: logger, mail: mail)
        do {
            let result = try await body(stack)
            await stack.stop()
            return result
        } catch {
            await stack.stop()
            throw error
        }
    }
}
