import AtelierProtos
import GRPCCore
import GRPCNIOTransportHTTP2
import ServiceKit

/// The services the edge calls by hand (what the transcoder does not: sessions, files, account
/// data, payments), each as its generated client, with the call options every call carries (the
/// edge's deadline, waiting for a service still starting, replies up to 16 MiB) and the edge's
/// own principal for the calls it makes for nobody in particular.
struct Upstreams: Sendable {
    let auth: Atelier_Auth_V1_AuthService.Client<HTTP2ClientTransport.Posix>
    let catalog: Atelier_Catalog_V1_CatalogService.Client<HTTP2ClientTransport.Posix>
    let commerce: Atelier_Commerce_V1_CommerceService.Client<HTTP2ClientTransport.Posix>
    let options: CallOptions
    let edge: ServicePrincipal

    init(connections: [ServiceName: RPCClient], edge: ServicePrincipal) throws {
        guard let auth = connections[.auth], let catalog = connections[.catalog], let commerce = connections[.commerce] else {
            throw EdgeError.internal("a service has no connection")
        }
        self.auth = .init(wrapping: auth.client)
        self.catalog = .init(wrapping: catalog.client)
        self.commerce = .init(wrapping: commerce.client)
        self.options = auth.callOptions
        self.edge = edge
    }

    /// The edge's principal and the request's id, for a call made for nobody in particular.
    func asEdge() throws -> Metadata { try edge.metadata() }
}
