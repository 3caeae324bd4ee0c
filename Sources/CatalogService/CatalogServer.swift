import AtelierProtos
import Logging
import ServiceKit

/// The catalog service's RPCs. The declaration in proto/atelier/catalog/v1 has no methods yet; they
/// arrive with the issue that builds the catalog. Until then the service starts, migrates its
/// (empty) schema, serves grpc.health.v1 and refuses callers without a principal.
public struct CatalogRPC: Atelier_Catalog_V1_CatalogService.SimpleServiceProtocol {
    public init() {}
}

/// Builds the catalog service from configuration.
public enum CatalogServer {
    public static func make(configuration: Configuration, verifier: PrincipalVerifier, logger: Logger) async throws -> HostedService {
        try await HostedService.make(
            .catalog, configuration: configuration, verifier: verifier, logger: logger,
            migrations: [], services: { _ in [CatalogRPC()] })
    }
}
