import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// The edge's request context: Hummingbird's basic one plus the peer address, which rate limits
/// are keyed by.
struct EdgeRequestContext: RequestContext, RemoteAddressRequestContext {
    var coreContext: CoreRequestContextStorage
    let remoteAddress: SocketAddress?

    init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.remoteAddress = source.channel.remoteAddress
    }
}

/// Whose requests count together for rate limits. Behind `trustedProxies` proxies the client is
/// the entry of `X-Forwarded-For` that many places from the right; otherwise the peer itself,
/// since a client can write any X-Forwarded-For it likes.
struct ClientAddress: Sendable {
    static let forwardedFor = HTTPField.Name("X-Forwarded-For")!  // '!' is fine: a valid literal name.
    let trustedProxies: Int

    func of(_ request: Request, context: EdgeRequestContext) -> String {
        if trustedProxies > 0, let forwarded = request.headers[Self.forwardedFor] {
            let hops = forwarded.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            if hops.count >= trustedProxies { return hops[hops.count - trustedProxies] }
        }
        return context.remoteAddress?.ipAddress ?? "unknown"
    }
}
