import Foundation

/// One row of a result, read by column name. Reading a column that is missing or of another
/// type throws, naming the column, so a schema mistake is an error and never a crash.
public struct SQLRow: Sendable {
    public let columns: SQLColumns
    public let cells: [SQLValue]

    /// - Parameter cells: one value per column, in the columns' order.
    public init(columns: SQLColumns, cells: [SQLValue]) {
        self.columns = columns
        self.cells = cells
    }

    public init(values: [String: SQLValue]) {
        self.init(columns: SQLColumns(Array(values.keys)), cells: Array(values.values))
    }

    /// Every column by name.
    public var values: [String: SQLValue] {
        Dictionary(zip(columns.names, cells), uniquingKeysWith: { first, _ in first })
    }

    /// Roughly how many bytes the row's values take: text and blobs by length, the rest as 8.
    /// For sizing pages of rows, not for storage.
    public var approximateByteCount: Int {
        cells.reduce(0) { total, cell in
            switch cell {
            case .text(let text): total + text.utf8.count
            case .blob(let bytes): total + bytes.count
            case .null, .int, .double, .bool: total + 8
            }
        }
    }

    public func value(_ column: String) throws -> SQLValue {
        guard let position = columns.positions[column], position < cells.count else { throw DatabaseError.missingColumn(column) }
        return cells[position]
    }

    public func string(_ column: String) throws -> String {
        guard let value = try optionalString(column) else { throw DatabaseError.unexpectedNull(column) }
        return value
    }

    public func optionalString(_ column: String) throws -> String? {
        switch try value(column) {
        case .null: return nil
        case .text(let text): return text
        default: throw DatabaseError.typeMismatch(column: column, expected: "text")
        }
    }

    public func int(_ column: String) throws -> Int64 {
        guard let value = try optionalInt(column) else { throw DatabaseError.unexpectedNull(column) }
        return value
    }

    public func optionalInt(_ column: String) throws -> Int64? {
        switch try value(column) {
        case .null: return nil
        case .int(let int): return int
        case .bool(let bool): return bool ? 1 : 0
        case .double(let double): return Int64(double)
        default: throw DatabaseError.typeMismatch(column: column, expected: "integer")
        }
    }

    public func double(_ column: String) throws -> Double {
        switch try value(column) {
        case .double(let double): return double
        case .int(let int): return Double(int)
        default: throw DatabaseError.typeMismatch(column: column, expected: "double")
        }
    }

    public func optionalDouble(_ column: String) throws -> Double? {
        if case .null = try value(column) { return nil }
        return try double(column)
    }

    /// SQLite keeps booleans as 0 and 1; PostgreSQL as BOOLEAN. Both read as Bool here.
    public func bool(_ column: String) throws -> Bool {
        switch try value(column) {
        case .bool(let bool): return bool
        case .int(let int): return int != 0
        default: throw DatabaseError.typeMismatch(column: column, expected: "boolean")
        }
    }

    public func date(_ column: String) throws -> Date {
        Date(microsecondsSince1970: try int(column))
    }

    public func optionalDate(_ column: String) throws -> Date? {
        try optionalInt(column).map(Date.init(microsecondsSince1970:))
    }

    public func blob(_ column: String) throws -> [UInt8] {
        switch try value(column) {
        case .blob(let bytes): return bytes
        case .text(let text): return Array(text.utf8)
        default: throw DatabaseError.typeMismatch(column: column, expected: "blob")
        }
    }
}

/// The column names of one result, shared by all its rows: a page of fifty rows builds one index
/// of names, not fifty dictionaries.
public final class SQLColumns: Sendable {
    public let names: [String]
    let positions: [String: Int]

    public init(_ names: [String]) {
        self.names = names
        // A name given twice (a join's two `id`s) reads as its first column.
        self.positions = Dictionary(names.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
    }
}
