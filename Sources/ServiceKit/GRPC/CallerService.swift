import AtelierProtos
import GRPCCore

/// `atelier.api.v1.CallerService`, hosted by every server: answers with the principal the call
/// carries, as the principal interceptor verified it.
struct CallerService: Atelier_Api_V1_CallerService.SimpleServiceProtocol {
    func whoAmI(request: Atelier_Api_V1_WhoAmIRequest, context: ServerContext) async throws -> Atelier_Api_V1_WhoAmIResponse {
        guard let principal = Caller.principal else { throw ServiceError.unauthenticated("the call carries no principal") }
        return .with { $0.principal = principal }
    }
}
