import Foundation
import ServiceKit
import Testing

@Suite("Signed principals")
struct PrincipalTokenTests {
    @Test("a principal verifies with the signer's public key and carries what was signed")
    func roundTrip() throws {
        let signer = PrincipalSigner.generate()
        let token = try signer.user(id: "user_1", sessionID: "ses_1", plan: "pro", roles: ["user"], lifetime: .seconds(60))
        let principal = try signer.verifier.verify(token)
        #expect(principal.kind == .user)
        #expect(principal.subject == "user_1")
        #expect(principal.sessionID == "ses_1")
        #expect(principal.plan == "pro")
        let restored = try PrincipalVerifier(base64PublicKey: signer.verifier.base64PublicKey)
        #expect(try restored.verify(token).subject == "user_1")
    }

    @Test("another key, an altered payload and an expired principal are refused")
    func refusals() throws {
        let signer = PrincipalSigner.generate()
        let token = try signer.service(name: "edge", lifetime: .seconds(60))
        #expect(throws: PrincipalError.badSignature) { try PrincipalSigner.generate().verifier.verify(token) }
        let parts = token.split(separator: ".")
        var payload = Array(Base64URL.decode(parts[0])!)
        payload[0] ^= 0x40
        #expect(throws: PrincipalError.badSignature) { try signer.verifier.verify(Base64URL.encode(payload) + "." + parts[1]) }
        let old = try signer.service(name: "edge", lifetime: .seconds(60), now: Date(timeIntervalSinceNow: -120))
        #expect(throws: PrincipalError.expired) { try signer.verifier.verify(old) }
        #expect(throws: PrincipalError.malformed) { try signer.verifier.verify("nodot") }
    }

    @Test("a verified principal is remembered, but still expires, and only its exact token is")
    func remembered() throws {
        let signer = PrincipalSigner.generate()
        let verifier = signer.verifier
        let token = try signer.user(id: "user_1", sessionID: "ses_1", plan: "free", roles: ["user"], lifetime: .seconds(60))
        #expect(try verifier.verify(token).subject == "user_1")
        #expect(try verifier.verify(token).subject == "user_1")
        #expect(throws: PrincipalError.expired) { try verifier.verify(token, now: Date(timeIntervalSinceNow: 120)) }
        // Another verifier (another key) does not share what this one remembered.
        #expect(throws: PrincipalError.badSignature) { try PrincipalSigner.generate().verifier.verify(token) }
        #expect(throws: PrincipalError.badSignature) { try verifier.verify(token + "x") }
    }
}
