import Foundation
import SwiftProtobuf

/// Lists and maps are kept as JSON text: they are read and written whole, never queried inside
/// (tags, which are filtered on, also have their own table).
public enum JSONColumn {
    public static func encode(_ list: [String]) -> SQLValue {
        .text(String(decoding: (try? JSONEncoder().encode(list)) ?? Data("[]".utf8), as: UTF8.self))
    }

    public static func encode(_ map: [String: String]) -> SQLValue {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return .text(String(decoding: (try? encoder.encode(map)) ?? Data("{}".utf8), as: UTF8.self))
    }

    public static func list(_ row: SQLRow, _ column: String) throws -> [String] {
        guard let text = try row.optionalString(column) else { return [] }
        var scanner = StringScanner(text)
        return scanner.stringArray() ?? (try? JSONDecoder().decode([String].self, from: Data(text.utf8))) ?? []
    }

    public static func map(_ row: SQLRow, _ column: String) throws -> [String: String] {
        guard let text = try row.optionalString(column) else { return [:] }
        var scanner = StringScanner(text)
        return scanner.stringMap() ?? (try? JSONDecoder().decode([String: String].self, from: Data(text.utf8))) ?? [:]
    }
}

/// Reads the two JSON shapes these columns hold, `["a","b"]` and `{"k":"v"}`, without
/// Foundation's general decoder: lists are read on every row of every list page, and the
/// general decoder was a twentieth of the CPU of a hero list. Anything else returns nil and
/// falls back to the general decoder.
struct StringScanner {
    private let bytes: [UInt8]
    private var index = 0

    init(_ text: String) { bytes = Array(text.utf8) }

    mutating func stringArray() -> [String]? {
        guard take(UInt8(ascii: "[")) else { return nil }
        var out: [String] = []
        if take(UInt8(ascii: "]")) { return end(out) }
        repeat {
            guard let item = string() else { return nil }
            out.append(item)
        } while take(UInt8(ascii: ","))
        return take(UInt8(ascii: "]")) ? end(out) : nil
    }

    mutating func stringMap() -> [String: String]? {
        guard take(UInt8(ascii: "{")) else { return nil }
        var out: [String: String] = [:]
        if take(UInt8(ascii: "}")) { return end(out) }
        repeat {
            guard let key = string(), take(UInt8(ascii: ":")), let value = string() else { return nil }
            out[key] = value
        } while take(UInt8(ascii: ","))
        return take(UInt8(ascii: "}")) ? end(out) : nil
    }

    private mutating func end<T>(_ value: T) -> T? {
        skipSpace()
        return index == bytes.count ? value : nil
    }

    private mutating func skipSpace() {
        while index < bytes.count, bytes[index] == 0x20 || bytes[index] == 0x0A || bytes[index] == 0x0D || bytes[index] == 0x09 { index += 1 }
    }

    private mutating func take(_ byte: UInt8) -> Bool {
        skipSpace()
        guard index < bytes.count, bytes[index] == byte else { return false }
        index += 1
        return true
    }

    /// A JSON string; escapes other than the plain ones (\u and friends) defer to the general decoder.
    /// One without escapes (nearly every one) is taken from the bytes as it stands.
    private mutating func string() -> String? {
        guard take(UInt8(ascii: "\"")) else { return nil }
        let start = index
        while index < bytes.count {
            switch bytes[index] {
            case UInt8(ascii: "\""):
                index += 1
                return String(decoding: bytes[start..<index - 1], as: UTF8.self)
            case UInt8(ascii: "\\"):
                return escapedString(from: start)
            default:
                index += 1
            }
        }
        return nil
    }

    /// The rest of a string with escapes, from its first byte at `start`.
    private mutating func escapedString(from start: Int) -> String? {
        var out = Array(bytes[start..<index])
        while index < bytes.count {
            let byte = bytes[index]
            index += 1
            switch byte {
            case UInt8(ascii: "\""):
                return String(decoding: out, as: UTF8.self)
            case UInt8(ascii: "\\"):
                guard index < bytes.count else { return nil }
                let escaped = bytes[index]
                index += 1
                switch escaped {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(escaped)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "r"): out.append(0x0D)
                default: return nil
                }
            default:
                out.append(byte)
            }
        }
        return nil
    }
}

extension SQLRow {
    public func timestamp(_ column: String) throws -> Google_Protobuf_Timestamp {
        Google_Protobuf_Timestamp(date: try date(column))
    }

    public func optionalTimestamp(_ column: String) throws -> Google_Protobuf_Timestamp? {
        try optionalDate(column).map { Google_Protobuf_Timestamp(date: $0) }
    }
}
