import AtelierProtos
import Logging
import ServiceKit

/// The commerce service's RPCs. The declaration in proto/atelier/commerce/v1 has no methods yet; they
/// arrive with the issue that builds the commerce. Until then the service starts, migrates its
/// (empty) schema, serves grpc.health.v1 and refuses callers without a principal.
public struct CommerceRPC: Atelier_Commerce_V1_CommerceService.SimpleServiceProtocol {
    public init() {}
}

/// Builds the commerce service from configuration.
public enum CommerceServer {
    public static func make(configuration: Configuration, verifier: PrincipalVerifier, logger: Logger) async throws -> HostedService {
        try await HostedService.make(
            .commerce, configuration: configuration, verifier: verifier, logger: logger,
            migrations: [], services: { _ in [CommerceRPC()] })
    }
}
