import Foundation
import Synchronization

/// Random bytes and identifiers from the system's cryptographic generator (getrandom on Linux).
public enum SecureRandom {
    private static let alphabet = Array("0123456789abcdefghjkmnpqrstvwxyz")
    private static let sequence = Atomic<UInt64>(0)

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

    /// An id that sorts in the order it was made, within this process and across time: the
    /// microsecond, a counter and 60 random bits, in base32 of a fixed width. Rows written in one
    /// transaction share their time, so ordering by (created_at, id) keeps the order they were
    /// written in (a new wallet's signup grant before the pack that created the wallet).
    public static func orderedID(prefix: String) -> String {
        let micros = UInt64(max(0, Date().timeIntervalSince1970 * 1_000_000))
        let count = sequence.wrappingAdd(1, ordering: .relaxed).newValue
        var out = prefix + "_"
        func append(_ value: UInt64, digits: Int) {
            for shift in stride(from: (digits - 1) * 5, through: 0, by: -5) { out.append(alphabet[Int((value >> UInt64(shift)) & 31)]) }
        }
        append(micros, digits: 11)
        append(count & 0xFFFFF, digits: 4)
        var generator = SystemRandomNumberGenerator()
        append(generator.next() as UInt64 >> 4, digits: 12)
        return out
    }

    /// An opaque id with a readable prefix (`user_3kq9...`): 128 random bits in lower-case base32.
    public static func id(prefix: String) -> String {
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
