import AtelierProtos
import Logging
import ServiceKit

/// The generation service's RPCs. The declaration in proto/atelier/generation/v1 has no methods yet; they
/// arrive with the issue that builds the generation. Until then the service starts, migrates its
/// (empty) schema, serves grpc.health.v1 and refuses callers without a principal.
public struct GenerationRPC: Atelier_Generation_V1_GenerationService.SimpleServiceProtocol {
    public init() {}
}

/// Builds the generation service from configuration.
public enum GenerationServer {
    public static func make(configuration: Configuration, verifier: PrincipalVerifier, logger: Logger,
                            directory: ServiceDirectory? = nil) async throws -> HostedService {
        try await HostedService.make(
            .generation, configuration: configuration, verifier: verifier, logger: logger,
            migrations: [], directory: directory, services: { _ in [GenerationRPC()] })
    }
}
