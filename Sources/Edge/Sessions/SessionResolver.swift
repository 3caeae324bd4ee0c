import AtelierProtos
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import GRPCProtobuf
import ServiceKit
import Synchronization
import SwiftProtobuf

/// Turns a bearer session token into a signed user principal. Auth's answer is cached for a
/// short while (`edge.session-cache-seconds`, 30 by default), so most requests cost no call to
/// auth; a logout, sign-out of other sessions or account deletion through this edge removes the
/// cached entries at once. Endings decided elsewhere (a password reset, another edge replica)
/// reach this edge when the entry expires.
///
/// The principal carries the user's plan and entitlements, asked of commerce beside the session.
/// When commerce cannot answer, the user gets the Free plan's principal for a few seconds rather
/// than no service at all.
final class SessionResolver: Sendable {
    struct Resolved: Sendable {
        let principal: String
        let userID: String
        let sessionID: String
        /// Auth's reply as JSON, for routes answered from the session (`answered_from_session`).
        let reply: JSONValue
        let validUntil: ContinuousClock.Instant

        /// Metadata of a call on the user's behalf: their principal and the request's id.
        var metadata: Metadata {
            var metadata = Metadata()
            metadata.addString(principal, forKey: PrincipalInterceptor.metadataKey)
            RequestID.propagate(into: &metadata)
            return metadata
        }
    }

    private struct Cache {
        var entries: [String: Resolved] = [:]
        /// Tokens per user, so one user's entries can be dropped without scanning the rest.
        var tokensByUser: [String: Set<String>] = [:]

        mutating func insert(_ token: String, _ resolved: Resolved) {
            entries[token] = resolved
            tokensByUser[resolved.userID, default: []].insert(token)
        }

        mutating func remove(_ token: String) {
            guard let resolved = entries.removeValue(forKey: token) else { return }
            tokensByUser[resolved.userID]?.remove(token)
            if tokensByUser[resolved.userID]?.isEmpty == true { tokensByUser[resolved.userID] = nil }
        }

        mutating func removeUser(_ userID: String, keeping kept: String? = nil) {
            for token in tokensByUser[userID] ?? [] where token != kept { remove(token) }
        }
    }

    private let cache = Mutex(Cache())
    private let upstreams: Upstreams
    private let signer: PrincipalSigner
    private let cacheLifetime: Duration
    /// How long a principal this edge signs stays valid: after it, nothing signed for a
    /// deleted account can still be used.
    let principalLifetime: Duration
    private let maxEntries: Int

    init(upstreams: Upstreams, signer: PrincipalSigner, cacheLifetime: Duration, principalLifetime: Duration, maxEntries: Int = 100_000) {
        self.upstreams = upstreams
        self.signer = signer
        self.cacheLifetime = cacheLifetime
        // A cached principal must outlive its cache entry, or a cached one could be stale on arrival.
        self.principalLifetime = max(principalLifetime, cacheLifetime + .seconds(30))
        self.maxEntries = maxEntries
    }

    /// The principal for `token`, or 401 when the session is unknown, expired or signed out.
    func resolve(token: String) async throws -> Resolved {
        let now = ContinuousClock.now
        if let hit = cache.withLock({ $0.entries[token] }), hit.validUntil > now {
            return hit
        }
        let reply: Atelier_Auth_V1_ValidateSessionResponse
        do {
            reply = try await upstreams.auth.call(AuthMethods.ValidateSession.self, .with { $0.token = token }, metadata: try upstreams.asEdge())
        } catch let error as RPCError where error.code == .unauthenticated {
            cache.withLock { $0.remove(token) }
            throw EdgeError(status: .unauthorized, code: "SESSION_INVALID", message: "session expired or signed out; sign in again")
        }
        var validated = reply
        let entitlements = await entitlements(of: reply.user.id)
        if let entitlements { validated.user.subscriptionTier = entitlements.plan }
        let principal = try signer.user(
            id: reply.user.id, sessionID: reply.session.id, plan: validated.user.subscriptionTier,
            roles: reply.user.roles, entitlements: entitlements,
            contentFilterLevel: Self.filterLevelName(reply.user.contentFilterLevel), lifetime: principalLifetime)
        let json = try JSONParser.parse(Array(try validated.jsonUTF8Bytes(options: Transcoder.encoding) as [UInt8]))
        let resolved = Resolved(principal: principal, userID: reply.user.id, sessionID: reply.session.id, reply: json,
                                validUntil: now + (entitlements == nil ? min(cacheLifetime, .seconds(5)) : cacheLifetime))
        cache.withLock { cache in
            if cache.entries.count >= maxEntries {
                for (token, entry) in cache.entries where entry.validUntil <= now { cache.remove(token) }
                if cache.entries.count >= maxEntries { cache = Cache() }
            }
            cache.insert(token, resolved)
        }
        return resolved
    }

    /// The user's entitlements from commerce, or nil when commerce cannot say.
    private func entitlements(of userID: String) async -> Entitlements? {
        do {
            let reply = try await upstreams.commerce.call(CommerceMethods.GetEntitlements.self, .with { $0.userID = userID }, metadata: try upstreams.asEdge())
            return reply.entitlements
        } catch {
            return nil
        }
    }

    /// Forgets cached principals after a call that ended sessions.
    func sessionsEnded(_ effect: Atelier_Api_V1_SessionEffect, token: String, userID: String) {
        cache.withLock { cache in
            switch effect {
            case .endsCurrent: cache.remove(token)
            case .endsOthers: cache.removeUser(userID, keeping: token)
            case .endsAll: cache.removeUser(userID)
            case .unspecified, .UNRECOGNIZED: break
            }
        }
    }

    /// Forgets what is held for a user after they changed something, so the next read of their
    /// session (answered from the cache) shows the change.
    func userChanged(_ userID: String) {
        cache.withLock { $0.removeUser(userID) }
    }

    /// The level generation filters the user's words at: moderate unless the user chose.
    static func filterLevelName(_ level: Atelier_Auth_V1_ContentFilterLevel) -> String {
        switch level {
        case .strict: "strict"
        case .relaxed: "relaxed"
        default: "moderate"
        }
    }
}

/// The edge's own principal (role "edge"), for calls it makes before anyone is signed in (sign
/// up, log in), for ValidateSession and the services-only calls only the edge makes. Re-signed
/// before it expires.
final class ServicePrincipal: Sendable {
    private let signer: PrincipalSigner
    private let current = Mutex<(token: String, renewAt: Date)?>(nil)
    private let lifetime: Duration = .seconds(600)

    init(signer: PrincipalSigner) { self.signer = signer }

    func token() throws -> String {
        let now = Date()
        if let current = current.withLock({ $0 }), current.renewAt > now { return current.token }
        let token = try signer.service(name: "edge", roles: ["edge"], lifetime: lifetime, now: now)
        current.withLock { $0 = (token, now.addingTimeInterval(300)) }
        return token
    }

    /// The edge's principal, and the id of the request being served.
    func metadata() throws -> Metadata {
        var metadata = Metadata()
        metadata.addString(try token(), forKey: PrincipalInterceptor.metadataKey)
        RequestID.propagate(into: &metadata)
        return metadata
    }
}
