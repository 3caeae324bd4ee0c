import AtelierProtos
import GRPCCore
import ServiceKit

typealias AuthMethods = Atelier_Auth_V1_AuthService.Method
typealias CatalogMethods = Atelier_Catalog_V1_CatalogService.Method
typealias CommerceMethods = Atelier_Commerce_V1_CommerceService.Method

/// The services the edge calls by hand (what the transcoder does not: sessions, files, account
/// data, payments), each a `ServiceClient` with the edge's deadline, and the edge's own
/// principal for the calls it makes for nobody in particular.
struct Upstreams: Sendable {
    let auth: ServiceClient
    let catalog: ServiceClient
    let commerce: ServiceClient
    let generation: ServiceClient
    let edge: ServicePrincipal

    init(clients: [ServiceName: ServiceClient], edge: ServicePrincipal) throws {
        guard let auth = clients[.auth], let catalog = clients[.catalog], let commerce = clients[.commerce],
              let generation = clients[.generation] else {
            throw EdgeError.internal("a service has no client")
        }
        self.auth = auth
        self.catalog = catalog
        self.commerce = commerce
        self.generation = generation
        self.edge = edge
    }

    /// The edge's principal and the request's id, for a call made for nobody in particular.
    func asEdge() throws -> Metadata { try edge.metadata() }
}
