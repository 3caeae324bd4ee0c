import AtelierProtos
import GRPCCore
import Logging

/// Refuses every call that does not carry a valid signed principal, whatever address it comes
/// from, and every call its principal may not make: a service principal needs one of the roles
/// the RPC names in `proto/` (`MethodAccess`), a user may call only what the edge exposes, and a
/// back-office credential must still be in force (`CredentialCheck`: recorded, not revoked).
/// The health service stays open so probes work without credentials.
public struct PrincipalInterceptor: ServerInterceptor {
    public static let metadataKey = "x-atelier-principal"
    static let openServices: Set<String> = ["grpc.health.v1.Health"]

    private let verifier: PrincipalVerifier
    private let access: MethodAccess
    private let credentials: (any CredentialCheck)?

    public init(verifier: PrincipalVerifier, access: MethodAccess, credentials: (any CredentialCheck)?) {
        self.verifier = verifier
        self.access = access
        self.credentials = credentials
    }

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
        let rule = access.rule(for: context.descriptor)
        try check(principal, against: rule)
        if principal.kind == .service, !principal.credentialID.isEmpty, let credentials {
            guard try await credentials.isActive(credentialID: principal.credentialID, token: token) else {
                throw ServiceError.unauthenticated("this service credential was revoked or has expired", reason: "CREDENTIAL_REVOKED")
            }
        }
        // Only the edge signs user principals and holds the role "edge": the address is the edge's word.
        let address = principal.kind == .user || principal.roles.contains("edge")
            ? request.metadata[stringValues: Caller.clientAddressKey].first(where: { _ in true }) : nil
        var response = try await Caller.$principal.withValue(principal) {
            try await Caller.$clientAddress.withValue(address) { try await next(request, context) }
        }
        // A streaming reply is written after `next` returns: its writer must see the principal too.
        if rule?.serverStreaming == true, case .success(var contents) = response.accepted {
            let producer = contents.producer
            contents.producer = { writer in try await Caller.$principal.withValue(principal) { try await producer(writer) } }
            response.accepted = .success(contents)
        }
        return response
    }

    private func check(_ principal: Principal, against rule: MethodAccess.Rule?) throws {
        guard let rule else { return }
        switch principal.kind {
        case .service:
            guard rule.admits(serviceRoles: principal.roles) else {
                let needed = rule.serviceRoles.sorted().joined(separator: ", ")
                throw ServiceError.permissionDenied(
                    needed.isEmpty ? "this call is for signed-in users" : "this call needs a service credential with one of the roles \(needed)",
                    reason: "ROLE_REQUIRED")
            }
        case .user:
            guard rule.userFacing else { throw ServiceError.permissionDenied("this call is for services only") }
        default:
            throw ServiceError.unauthenticated(PrincipalError.malformed.description)
        }
    }
}
