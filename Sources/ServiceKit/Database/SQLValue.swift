import Foundation

/// A value bound into, or read out of, a SQL statement. The same values mean the same thing on
/// PostgreSQL and SQLite; times are stored as microseconds since 1970 in BIGINT columns so that
/// both databases compare and index them alike.
public enum SQLValue: Sendable, Equatable {
    case null
    case int(Int64)
    case double(Double)
    case text(String)
    case bool(Bool)
    case blob([UInt8])

    public static func time(_ date: Date) -> SQLValue { .int(date.microsecondsSince1970) }

    public static func optional(_ value: String?) -> SQLValue { value.map { .text($0) } ?? .null }
    public static func optional(_ value: Int64?) -> SQLValue { value.map { .int($0) } ?? .null }
    public static func optional(_ value: Double?) -> SQLValue { value.map { .double($0) } ?? .null }
    public static func optional(_ value: Date?) -> SQLValue { value.map { .time($0) } ?? .null }
}

extension SQLValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral {
    public init(stringLiteral value: String) { self = .text(value) }
    public init(integerLiteral value: Int64) { self = .int(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
}

extension Date {
    public var microsecondsSince1970: Int64 { Int64((timeIntervalSince1970 * 1_000_000).rounded()) }
    public init(microsecondsSince1970 micros: Int64) {
        self.init(timeIntervalSince1970: Double(micros) / 1_000_000)
    }
}

extension Date {
    /// Now, to the microsecond the database keeps, so a reply made from a fresh value and one
    /// read back from a row agree.
    public static var databaseNow: Date { Date(microsecondsSince1970: Date().microsecondsSince1970) }
}
