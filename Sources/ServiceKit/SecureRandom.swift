/// Random bytes and identifiers from the system's cryptographic generator (getrandom on Linux).
public enum SecureRandom {
    public static func bytes(_ count: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        var bytes = [UInt8]()
        bytes.reserveCapacity(count + 8)
        while bytes.count < count {
            withUnsafeBytes(of: generator.next() as UInt64) { bytes.append(contentsOf: $0) }
        }
        return Array(bytes.prefix(count))
    }

    public static func hex(_ count: Int) -> String {
        bytes(count).hexString
    }

    /// An opaque id with a readable prefix (`user_3kq9...`): 128 random bits in lower-case base32.
    public static func id(prefix: String) -> String {
        let alphabet = Array("0123456789abcdefghjkmnpqrstvwxyz")
        var generator = SystemRandomNumberGenerator()
        var high = generator.next() as UInt64
        var low = generator.next() as UInt64
        var out = prefix + "_"
        for index in 0..<26 {
            // 26 base32 digits carry 130 bits; the top two are always zero.
            if index < 13 {
                out.append(alphabet[Int(high & 31)])
                high >>= 5
            } else {
                out.append(alphabet[Int(low & 31)])
                low >>= 5
            }
        }
        return out
    }
}

extension Sequence where Element == UInt8 {
    public var hexString: String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        for byte in self {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 15)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
