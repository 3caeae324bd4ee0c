import AtelierProtos
import Foundation
import GRPCCore
import ServiceLifecycle
import Synchronization

/// Whether a back-office credential (a service principal with a credential id) is still in force:
/// recorded when it was issued, not revoked, not expired. Principals a service signs for itself
/// (the edge's) carry no credential id and are not asked about: they live minutes.
public protocol CredentialCheck: Sendable {
    func isActive(credentialID: String, token: String) async throws -> Bool
}

/// Answers kept for a short while, so a busy back-office job costs one lookup per half minute,
/// and a revocation takes effect everywhere within that.
public final class CredentialAnswers: Sendable {
    private let lifetime: Duration
    private let answers = Mutex<[String: (active: Bool, until: ContinuousClock.Instant)]>([:])

    /// - Parameter lifetime: how long an answer is kept (`credentials.cache-seconds`, 30); zero keeps none.
    public init(lifetime: Duration) { self.lifetime = lifetime }

    public func answer(for id: String, _ ask: () async throws -> Bool) async throws -> Bool {
        let now = ContinuousClock.now
        if let kept = answers.withLock({ $0[id] }), kept.until > now { return kept.active }
        let active = try await ask()
        answers.withLock { answers in
            if answers.count > 10_000 { answers = answers.filter { $0.value.until > now } }
            answers[id] = (active, now + lifetime)
        }
        return active
    }
}

/// Asks auth (`CheckCredential`), forwarding the credential it was called with, so the check
/// needs no key or role of its own. Auth is found when the first check is made: a service of the
/// same process (`ServiceDirectory`: in-process, or its port) or the configured one. A lifecycle
/// service: its connection closes when the process stops.
public final class AuthCredentialCheck: CredentialCheck, Service {
    private let answers: CredentialAnswers
    private let auth: LazyServiceClient

    public init(configuration: Configuration, directory: ServiceDirectory?, cacheLifetime: Duration) {
        auth = LazyServiceClient(.auth, configuration: configuration, directory: directory, timeout: .seconds(5))
        answers = CredentialAnswers(lifetime: cacheLifetime)
    }

    public func isActive(credentialID: String, token: String) async throws -> Bool {
        try await answers.answer(for: credentialID) {
            var metadata = Metadata()
            metadata.addString(token, forKey: PrincipalInterceptor.metadataKey)
            RequestID.propagate(into: &metadata)
            do {
                return try await auth.call(Atelier_Auth_V1_AuthService.Method.CheckCredential.self, .init(), metadata: metadata).active
            } catch let error as RPCError where error.code == .unauthenticated {
                return false
            } catch let error as RPCError {
                throw ServiceError(.unavailable, reason: "CREDENTIAL_CHECK_UNAVAILABLE",
                                   "the service credential could not be checked (\(error.code)); try again")
            }
        }
    }

    /// Waits for shutdown, then closes the connection if one was made.
    public func run() async throws {
        try await auth.run()
    }
}
