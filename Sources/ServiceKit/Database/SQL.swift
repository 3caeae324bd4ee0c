import Foundation

/// A SQL statement, written as an interpolated string literal:
///
///     "SELECT \(columns) FROM heroes WHERE id = \(id) AND user_id = \(user)"
///
/// Text comes only from literals in the source (the literal type is `StaticString`), an
/// interpolated value becomes a bind parameter, an identifier only comes from an
/// `SQLIdentifier` constant, and a nested `SQL` keeps its own binds. The placeholders are
/// numbered when the statement is rendered for a dialect (`$1` for PostgreSQL, `?1` for
/// SQLite), so fragments compose without anyone counting.
public struct SQL: Sendable, ExpressibleByStringInterpolation, CustomStringConvertible {
    enum Piece: Sendable {
        case text(String)
        case value(SQLValue)
        case dialect(postgres: [Piece], sqlite: [Piece])
    }

    var pieces: [Piece]

    init(pieces: [Piece]) { self.pieces = pieces }

    public init(stringLiteral literal: StaticString) {
        pieces = [.text(literal.text)]
    }

    public init(stringInterpolation: StringInterpolation) {
        pieces = stringInterpolation.pieces
    }

    public struct StringInterpolation: StringInterpolationProtocol {
        public typealias StringLiteralType = StaticString
        var pieces: [Piece] = []

        public init(literalCapacity: Int, interpolationCount: Int) {
            pieces.reserveCapacity(interpolationCount * 2 + 1)
        }

        public mutating func appendLiteral(_ literal: StaticString) {
            if literal.utf8CodeUnitCount > 0 { pieces.append(.text(literal.text)) }
        }

        public mutating func appendInterpolation(_ value: SQLValue) { pieces.append(.value(value)) }
        public mutating func appendInterpolation(_ value: String) { pieces.append(.value(.text(value))) }
        public mutating func appendInterpolation(_ value: String?) { pieces.append(.value(.optional(value))) }
        public mutating func appendInterpolation(_ value: Int64) { pieces.append(.value(.int(value))) }
        public mutating func appendInterpolation(_ value: Int64?) { pieces.append(.value(.optional(value))) }
        public mutating func appendInterpolation(_ value: Int) { pieces.append(.value(.int(Int64(value)))) }
        public mutating func appendInterpolation(_ value: Int32) { pieces.append(.value(.int(Int64(value)))) }
        public mutating func appendInterpolation(_ value: Double) { pieces.append(.value(.double(value))) }
        public mutating func appendInterpolation(_ value: Double?) { pieces.append(.value(.optional(value))) }
        public mutating func appendInterpolation(_ value: Bool) { pieces.append(.value(.bool(value))) }
        public mutating func appendInterpolation(_ value: Date) { pieces.append(.value(.time(value))) }
        public mutating func appendInterpolation(_ value: Date?) { pieces.append(.value(.optional(value))) }
        public mutating func appendInterpolation(_ value: [UInt8]) { pieces.append(.value(.blob(value))) }

        /// A table or column name: only constants reach the text.
        public mutating func appendInterpolation(_ identifier: SQLIdentifier) { pieces.append(.text(identifier.text)) }

        /// `a, b, c`: a list of names.
        public mutating func appendInterpolation(_ identifiers: [SQLIdentifier]) {
            pieces.append(.text(identifiers.map(\.text).joined(separator: ", ")))
        }

        /// A fragment with its own binds.
        public mutating func appendInterpolation(_ fragment: SQL) { pieces.append(contentsOf: fragment.pieces) }

        /// `$1, $2, $3`: one bind per value, for `IN (...)` and multi-row `VALUES`.
        public mutating func appendInterpolation(list values: [SQLValue]) {
            for (index, value) in values.enumerated() {
                if index > 0 { pieces.append(.text(", ")) }
                pieces.append(.value(value))
            }
        }
    }

    /// The statement's text for `dialect`, with its placeholders numbered, and the binds in order.
    public func rendered(for dialect: SQLDialect) -> (text: String, binds: [SQLValue]) {
        var text = ""
        var binds: [SQLValue] = []
        Self.render(pieces, dialect: dialect, into: &text, binds: &binds)
        return (text, binds)
    }

    private static func render(_ pieces: [Piece], dialect: SQLDialect, into text: inout String, binds: inout [SQLValue]) {
        for piece in pieces {
            switch piece {
            case .text(let part):
                text += part
            case .value(let value):
                binds.append(value)
                text += dialect == .postgres ? "$\(binds.count)" : "?\(binds.count)"
            case .dialect(let postgres, let sqlite):
                render(dialect == .postgres ? postgres : sqlite, dialect: dialect, into: &text, binds: &binds)
            }
        }
    }

    /// PostgreSQL's text, for logs and errors; the binds are not shown.
    public var description: String { rendered(for: .postgres).text }

    public var isEmpty: Bool {
        pieces.allSatisfy { if case .text(let text) = $0 { text.isEmpty } else { false } }
    }
}

extension SQL {
    /// `postgres` on PostgreSQL, `sqlite` on SQLite, for the few clauses only one of them has.
    public static func dialect(postgres: SQL, sqlite: SQL) -> SQL {
        SQL(pieces: [.dialect(postgres: postgres.pieces, sqlite: sqlite.pieces)])
    }

    /// ` FOR UPDATE` on PostgreSQL; nothing on SQLite, where a write transaction already holds
    /// the database for itself (`BEGIN IMMEDIATE`).
    public static let forUpdate = dialect(postgres: " FOR UPDATE", sqlite: "")

    /// ` FOR UPDATE OF alias` on PostgreSQL: only that table's rows are locked, as a query that
    /// also reads the nullable side of an outer join needs.
    public static func forUpdate(of alias: SQLIdentifier) -> SQL {
        dialect(postgres: " FOR UPDATE OF \(alias)", sqlite: "")
    }

    /// The fragments one after the other, `separator` between them.
    public static func join(_ parts: [SQL], separator: SQL) -> SQL {
        var pieces: [Piece] = []
        for (index, part) in parts.enumerated() {
            if index > 0 { pieces += separator.pieces }
            pieces += part.pieces
        }
        return SQL(pieces: pieces)
    }

    /// `WHERE a AND b`, or nothing when there are no conditions.
    public static func `where`(_ conditions: [SQL]) -> SQL {
        conditions.isEmpty ? "" : "WHERE \(join(conditions, separator: " AND "))"
    }

    /// `a = $1, b = $2` for an UPDATE's SET.
    public static func assignments(_ values: [(SQLIdentifier, SQLValue)]) -> SQL {
        join(values.map { column, value in "\(column) = \(value)" }, separator: ", ")
    }

    /// `($1, $2), ($3, $4)`: rows for a multi-row INSERT.
    public static func rows(_ rows: [[SQLValue]]) -> SQL {
        join(rows.map { "(\(list: $0))" }, separator: ", ")
    }

    public static func + (lhs: SQL, rhs: SQL) -> SQL {
        SQL(pieces: lhs.pieces + rhs.pieces)
    }
}

/// A table, column or index name. Names come from constants in the source; the one name that
/// comes from configuration (a PostgreSQL schema) is checked and quoted by `init(checked:)`.
public struct SQLIdentifier: Sendable, Hashable, ExpressibleByStringLiteral {
    let text: String

    public init(stringLiteral literal: StaticString) {
        text = literal.text
    }

    /// A name from configuration: letters, digits and underscores, starting with a letter or an
    /// underscore, at most 63 bytes (PostgreSQL's limit); double-quoted.
    public init(checked name: String) throws {
        let bytes = Array(name.utf8)
        let isWord: (UInt8) -> Bool = { ($0 >= 97 && $0 <= 122) || ($0 >= 65 && $0 <= 90) || ($0 >= 48 && $0 <= 57) || $0 == 95 }
        guard !bytes.isEmpty, bytes.count <= 63, bytes.allSatisfy(isWord), !(bytes[0] >= 48 && bytes[0] <= 57) else {
            throw DatabaseError.invalidIdentifier(name)
        }
        text = "\"\(name)\""
    }

    public var name: String { text }
}

extension StaticString {
    var text: String {
        withUTF8Buffer { String(decoding: $0, as: UTF8.self) }
    }
}
