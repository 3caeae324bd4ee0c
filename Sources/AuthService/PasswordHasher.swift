import CryptoExtras
import Foundation
import ServiceKit

/// scrypt parameters. The defaults are OWASP's first recommendation (N=2^17, r=8, p=1, 128 MiB);
/// each hash records its own parameters so they can be raised later and old hashes upgraded at
/// the next successful login.
public struct ScryptParameters: Sendable, Equatable, Comparable {
    public var logN: Int
    public var r: Int
    public var p: Int

    public static let owasp = ScryptParameters(logN: 17, r: 8, p: 1)

    public init(logN: Int, r: Int, p: Int) {
        self.logN = logN
        self.r = r
        self.p = p
    }

    /// The work a hash costs: CPU and memory both grow with N·r·p.
    var cost: Int { (1 << logN) * r * p }
    var memoryBytes: Int { 128 * r * (1 << logN) + 128 * r * p }

    public static func < (lhs: Self, rhs: Self) -> Bool {
        lhs.cost < rhs.cost || (lhs.cost == rhs.cost && lhs.memoryBytes < rhs.memoryBytes)
    }
}

/// Hashes and verifies passwords with scrypt, in PHC string form:
/// `$scrypt$ln=17,r=8,p=1$<salt>$<hash>` (unpadded base64). The work runs on a pool of its own
/// with bounded concurrency, never on an event loop: each hash holds 128 MiB and a core busy.
public struct PasswordHasher: Sendable {
    public let parameters: ScryptParameters
    private let pool: BoundedWorkPool
    static let saltBytes = 16
    static let hashBytes = 32

    public init(parameters: ScryptParameters, pool: BoundedWorkPool) {
        self.parameters = parameters
        self.pool = pool
    }

    public func hash(_ password: String) async throws -> String {
        let parameters = self.parameters
        let salt = SecureRandom.bytes(Self.saltBytes)
        return try await pool.run {
            let derived = try Self.derive(password, salt: salt, parameters: parameters)
            return "$scrypt$ln=\(parameters.logN),r=\(parameters.r),p=\(parameters.p)$"
                + Self.base64(salt) + "$" + Self.base64(derived)
        }
    }

    /// Whether `password` matches `encoded`. A malformed stored hash never matches.
    public func verify(_ password: String, against encoded: String) async throws -> Bool {
        guard let stored = StoredHash(encoded) else { return false }
        return try await pool.run {
            let derived = try Self.derive(password, salt: stored.salt, parameters: stored.parameters)
            return ConstantTime.equal(derived, stored.hash)
        }
    }

    /// Whether a stored hash was made with weaker parameters than the current ones.
    public func needsRehash(_ encoded: String) -> Bool {
        guard let stored = StoredHash(encoded) else { return true }
        return stored.parameters < parameters
    }

    static func derive(_ password: String, salt: [UInt8], parameters: ScryptParameters) throws -> [UInt8] {
        let key = try KDF.Scrypt.deriveKey(
            from: Array(password.utf8), salt: salt, outputByteCount: hashBytes,
            rounds: 1 << parameters.logN, blockSize: parameters.r, parallelism: parameters.p,
            maxMemory: parameters.memoryBytes + 1024 * 1024)
        return key.withUnsafeBytes { Array($0) }
    }

    static func base64(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString().replacingOccurrences(of: "=", with: "")
    }
}

/// A parsed `$scrypt$...` string.
struct StoredHash {
    let parameters: ScryptParameters
    let salt: [UInt8]
    let hash: [UInt8]

    init?(_ encoded: String) {
        let parts = encoded.split(separator: "$", omittingEmptySubsequences: false)
        guard parts.count == 5, parts[0].isEmpty, parts[1] == "scrypt" else { return nil }
        var values: [String: Int] = [:]
        for pair in parts[2].split(separator: ",") {
            let kv = pair.split(separator: "=")
            guard kv.count == 2, let value = Int(kv[1]) else { return nil }
            values[String(kv[0])] = value
        }
        guard let logN = values["ln"], let r = values["r"], let p = values["p"],
              (1...30).contains(logN), (1...64).contains(r), (1...64).contains(p),
              let salt = Self.decode(parts[3]), let hash = Self.decode(parts[4]), !hash.isEmpty
        else { return nil }
        self.parameters = ScryptParameters(logN: logN, r: r, p: p)
        self.salt = salt
        self.hash = hash
    }

    static func decode(_ text: Substring) -> [UInt8]? {
        var base64 = String(text)
        while base64.utf8.count % 4 != 0 { base64 += "=" }
        return Data(base64Encoded: base64).map(Array.init)
    }
}

enum ConstantTime {
    /// Compares without stopping at the first difference, so timing says nothing of where it is.
    static func equal(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for index in a.indices { difference |= a[index] ^ b[index] }
        return difference == 0
    }
}
