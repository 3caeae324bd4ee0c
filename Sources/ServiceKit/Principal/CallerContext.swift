import AtelierProtos

/// The verified principal of the RPC being served, set by `PrincipalInterceptor` for the
/// handler's task. Handlers ask it who is calling instead of trusting request fields.
public enum Caller {
    @TaskLocal public static var principal: Principal?
    /// Where the person behind the call is on the network, as the edge saw them (`clientAddressKey`
    /// metadata, believed only with a principal the edge signed). For per-address limits, never for trust.
    @TaskLocal public static var clientAddress: String?

    public static let clientAddressKey = "x-atelier-client-address"

    /// The signed-in user making the call, or Unauthenticated.
    public static func user() throws -> (id: String, sessionID: String, principal: Principal) {
        guard let principal, principal.kind == .user, !principal.subject.isEmpty else {
            throw ServiceError.unauthenticated("this call needs a signed-in user")
        }
        return (principal.subject, principal.sessionID, principal)
    }

    /// A service or back-office caller, or PermissionDenied for a user.
    public static func service() throws -> Principal {
        guard let principal else { throw ServiceError.unauthenticated("this call needs a service credential") }
        guard principal.kind == .service else {
            throw ServiceError.permissionDenied("this call is for services only")
        }
        return principal
    }
}
