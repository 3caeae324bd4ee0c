import Crypto
import Foundation
import ServiceKit

/// Stripe's webhook signature scheme: the `Stripe-Signature` header is `t=<unix seconds>` and one
/// or more `v1=<hex HMAC-SHA256 of "t.body" under the endpoint secret>` (several while a secret
/// is being rolled). A signature is accepted when any v1 matches, compared in constant time, and
/// the timestamp is within the tolerance, which bounds replays of a captured event.
enum WebhookSignature {
    static func header(payload: [UInt8], secret: String, timestamp: Int) -> String {
        "t=\(timestamp),v1=\(hex(mac(payload: payload, secret: secret, timestamp: String(timestamp))))"
    }

    static func verify(payload: [UInt8], header: String, secret: String, tolerance: TimeInterval, now: Date) throws(ServiceError) {
        guard !header.isEmpty else { throw refused("missing Stripe-Signature header") }
        var timestamp: String?
        var candidates: [[UInt8]] = []
        for part in header.split(separator: ",") {
            let pair = part.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard pair.count == 2 else { continue }
            if pair[0] == "t" { timestamp = pair[1] }
            if pair[0] == "v1", let bytes = unhex(pair[1]) { candidates.append(bytes) }
        }
        guard let timestamp, let seconds = Int(timestamp) else { throw refused("signature header has no timestamp") }
        guard !candidates.isEmpty else { throw refused("signature header has no v1 signature") }
        let age = now.timeIntervalSince1970 - TimeInterval(seconds)
        guard abs(age) <= tolerance else { throw refused("signature timestamp is outside the \(Int(tolerance)) s tolerance") }
        let expected = mac(payload: payload, secret: secret, timestamp: timestamp)
        // Every candidate is compared in full, so the time taken says nothing about which one matched.
        var matched = false
        for candidate in candidates where constantTimeEqual(candidate, expected) { matched = true }
        guard matched else { throw refused("signature does not match the payload") }
    }

    private static func mac(payload: [UInt8], secret: String, timestamp: String) -> [UInt8] {
        var hmac = HMAC<SHA256>(key: SymmetricKey(data: Array(secret.utf8)))
        hmac.update(data: Array(timestamp.utf8))
        hmac.update(data: [UInt8(ascii: ".")])
        hmac.update(data: payload)
        return Array(hmac.finalize())
    }

    private static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for i in a.indices { difference |= a[i] ^ b[i] }
        return difference == 0
    }

    private static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(bytes.count * 2)
        for byte in bytes { out.append(digits[Int(byte >> 4)]); out.append(digits[Int(byte & 0x0f)]) }
        return String(decoding: out, as: UTF8.self)
    }

    private static func unhex(_ text: String) -> [UInt8]? {
        let chars = Array(text.utf8)
        guard chars.count % 2 == 0 else { return nil }
        var out = [UInt8]()
        out.reserveCapacity(chars.count / 2)
        var i = 0
        while i < chars.count {
            guard let high = nibble(chars[i]), let low = nibble(chars[i + 1]) else { return nil }
            out.append(high << 4 | low)
            i += 2
        }
        return out
    }

    private static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    private static func refused(_ message: String) -> ServiceError {
        ServiceError(.invalidArgument, reason: "WEBHOOK_SIGNATURE_INVALID", message)
    }
}
