@testable import AuthService
import ServiceKit
import Testing

@Suite("Password hashing")
struct PasswordHasherTests {
    @Test("the default parameters are OWASP's: scrypt N=2^17, r=8, p=1")
    func defaultsMeetOWASP() throws {
        let settings = try AuthSettings(Configuration(environment: [:]))
        #expect(settings.scrypt.logN >= 17)
        #expect(settings.scrypt.r >= 8)
        #expect(settings.scrypt.p >= 1)
        #expect(settings.scrypt == .owasp)
    }

    @Test("a hash verifies its password and no other, and says when it needs upgrading")
    func hashesAndVerifies() async throws {
        let pool = BoundedWorkPool(threads: 2)
        let weak = PasswordHasher(parameters: .init(logN: 10, r: 8, p: 1), pool: pool)
        let strong = PasswordHasher(parameters: .init(logN: 11, r: 8, p: 1), pool: pool)
        let hash = try await weak.hash("Quiet-River-42")
        #expect(try await weak.verify("Quiet-River-42", against: hash))
        #expect(try await !weak.verify("Quiet-River-43", against: hash))
        #expect(try await strong.verify("Quiet-River-42", against: hash))  // parameters come from the hash
        #expect(strong.needsRehash(hash))
        #expect(!weak.needsRehash(hash))
        #expect(try await !weak.verify("x", against: "$scrypt$garbage"))
        let other = try await weak.hash("Quiet-River-42")
        #expect(other != hash)  // a fresh salt each time
        try await pool.shutdown()
    }

    @Test("a full queue of hashing work is refused rather than piling up")
    func boundedQueue() async throws {
        let pool = BoundedWorkPool(threads: 1, maxQueued: 2)
        let hasher = PasswordHasher(parameters: .init(logN: 14, r: 8, p: 1), pool: pool)
        let outcomes = await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<8 { group.addTask { (try? await hasher.hash("Quiet-River-42")) != nil } }
            return await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        #expect(outcomes.contains(true))
        #expect(outcomes.contains(false))
        try await pool.shutdown()
    }
}
