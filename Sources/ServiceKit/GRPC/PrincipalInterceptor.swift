import AtelierProtos
import GRPCCore
import Logging

/// Refuses every call that does not carry a valid signed principal, whatever address it comes
/// from; the health service stays open so probes work without credentials.
public struct PrincipalInterceptor: ServerInterceptor {
    public static let metadataKey = "x-atelier-principal"
    static let openServices: Set<String> = ["grpc.health.v1.Health"]

    private let verifier: PrincipalVerifier

    public init(verifier: PrincipalVerifier) { self.verifier = verifier }

    public func intercept<Input: Sendable, Output: Sendable>(
        request: StreamingServerRequest<Input>,
        context: ServerContext,
        next: @Sendable (StreamingServerRequest<Input>, ServerContext) async throws -> StreamingServerResponse<Output>
    ) async throws -> StreamingServerResponse<Output> {
        if Self.openServices.contains(context.descriptor.service.fullyQualifiedService) {
            return try await next(request, context)
        }
        guard let token = request.metadata[stringValues: Self.metadataKey].first(where: { _ in true }) else {
            throw ServiceError.unauthenticated(PrincipalError.missing.description)
        }
        let principal: Principal
        do {
            principal = try verifier.verify(token)
        } catch {
            throw ServiceError.unauthenticated(error.description)
        }
        return try await Caller.$principal.withValue(principal) {
            try await next(request, context)
        }
    }
}
