import AtelierProtos
import Crypto
import Foundation
import Synchronization
import SwiftProtobuf

public typealias Principal = Atelier_Api_V1_Principal
public typealias Entitlements = Atelier_Api_V1_Entitlements

/// Signs principals. Only the edge (and the `atelier credential` command) holds the private key;
/// services hold the public key and so can check a principal but never mint one.
public struct PrincipalSigner: Sendable {
    private let key: Curve25519.Signing.PrivateKey

    public init(privateKey: Curve25519.Signing.PrivateKey) { self.key = privateKey }

    public init(base64PrivateKey: String) throws {
        guard let raw = Data(base64Encoded: base64PrivateKey),
              let key = try? Curve25519.Signing.PrivateKey(rawRepresentation: raw)
        else { throw ConfigurationError.invalid(key: "principal.private-key", value: "(secret)", expected: "a base64 Ed25519 private key") }
        self.key = key
    }

    public static func generate() -> PrincipalSigner { PrincipalSigner(privateKey: .init()) }

    public var verifier: PrincipalVerifier { PrincipalVerifier(publicKey: key.publicKey) }
    public var base64PrivateKey: String { key.rawRepresentation.base64EncodedString() }

    /// A secret for one purpose (signing file URLs), derived from the private key with HKDF:
    /// every holder of the key derives the same one, and it reveals nothing of the key.
    public func derivedKey(purpose: String) -> SymmetricKey {
        HKDF<SHA256>.deriveKey(inputKeyMaterial: SymmetricKey(data: key.rawRepresentation),
                               info: Data("atelier \(purpose)".utf8), outputByteCount: 32)
    }

    public func sign(_ principal: Principal) throws -> String {
        let payload = try principal.serializedBytes() as [UInt8]
        let signature = try key.signature(for: payload)
        return Base64URL.encode(payload) + "." + Base64URL.encode(signature)
    }

    public func user(id: String, sessionID: String, plan: String, roles: [String], entitlements: Entitlements? = nil,
                     contentFilterLevel: String = "", lifetime: Duration, now: Date = Date()) throws -> String {
        var principal = Principal()
        principal.contentFilterLevel = contentFilterLevel
        principal.kind = .user
        principal.subject = id
        principal.sessionID = sessionID
        principal.plan = plan
        if let entitlements { principal.entitlements = entitlements }
        principal.roles = roles
        principal.issuedAt = Int64(now.timeIntervalSince1970)
        principal.expiresAt = principal.issuedAt + lifetime.components.seconds
        return try sign(principal)
    }

    /// The generation service's own principal, for a process that holds the key (`atelier dev`,
    /// the tests): its jobs call commerce and catalog long after the user's principal expired.
    public func generationCredential(lifetime: Duration = .seconds(365 * 86_400)) throws -> String {
        try service(name: "generation", roles: ["generation"], lifetime: lifetime)
    }

    public func service(name: String, roles: [String] = [], credentialID: String = "", lifetime: Duration, now: Date = Date()) throws -> String {
        var principal = Principal()
        principal.kind = .service
        principal.subject = name
        principal.roles = roles
        principal.credentialID = credentialID
        principal.issuedAt = Int64(now.timeIntervalSince1970)
        principal.expiresAt = principal.issuedAt + lifetime.components.seconds
        return try sign(principal)
    }
}

/// Checks a principal's signature and expiry, locally, without calling anyone.
public struct PrincipalVerifier: Sendable {
    private let key: Curve25519.Signing.PublicKey
    /// Tokens already verified, until they expire. The edge reuses one principal for many calls
    /// (`edge.principal-seconds`), and checking an Ed25519 signature costs more than the rest of
    /// a simple read, so each token's signature is checked once per process.
    private let verified = VerifiedTokens()

    public init(publicKey: Curve25519.Signing.PublicKey) { self.key = publicKey }

    public init(base64PublicKey: String) throws {
        guard let raw = Data(base64Encoded: base64PublicKey),
              let key = try? Curve25519.Signing.PublicKey(rawRepresentation: raw)
        else { throw ConfigurationError.invalid(key: "principal.public-key", value: base64PublicKey, expected: "a base64 Ed25519 public key") }
        self.key = key
    }

    public var base64PublicKey: String { key.rawRepresentation.base64EncodedString() }

    public func verify(_ token: String, now: Date = Date()) throws(PrincipalError) -> Principal {
        let seconds = Int64(now.timeIntervalSince1970)
        if let principal = verified.principal(for: token) {
            guard principal.expiresAt > seconds else { throw .expired }
            return principal
        }
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, let payload = Base64URL.decode(parts[0]), let signature = Base64URL.decode(parts[1]) else {
            throw .malformed
        }
        guard key.isValidSignature(signature, for: payload) else { throw .badSignature }
        guard let principal = try? Principal(serializedBytes: payload), principal.kind != .unspecified else {
            throw .malformed
        }
        guard principal.expiresAt > seconds else { throw .expired }
        verified.remember(principal, for: token, now: seconds)
        return principal
    }
}

/// A bounded map of verified tokens to their principals. Only tokens whose signature checked
/// out are kept, so the map cannot be filled with forgeries; when full, expired entries go,
/// and if none have, the map starts over.
final class VerifiedTokens: Sendable {
    static let capacity = 50_000
    private let entries = Mutex<[String: Principal]>([:])

    func principal(for token: String) -> Principal? {
        entries.withLock { $0[token] }
    }

    func remember(_ principal: Principal, for token: String, now: Int64) {
        entries.withLock { entries in
            if entries.count >= Self.capacity {
                entries = entries.filter { $0.value.expiresAt > now }
                if entries.count >= Self.capacity { entries.removeAll(keepingCapacity: true) }
            }
            entries[token] = principal
        }
    }
}

public enum PrincipalError: Error, Equatable, CustomStringConvertible {
    case missing, malformed, badSignature, expired

    public var description: String {
        switch self {
        case .missing: "the call carries no principal or service credential"
        case .malformed: "the principal is malformed"
        case .badSignature: "the principal's signature is not valid"
        case .expired: "the principal has expired"
        }
    }
}

public enum Base64URL {
    public static func encode(_ bytes: some DataProtocol) -> String {
        Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    public static func decode(_ text: some StringProtocol) -> Data? {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.utf8.count % 4 != 0 { base64 += "=" }
        return Data(base64Encoded: base64)
    }
}
