import Foundation
import SwiftProtobuf

/// How one column of a table reads into, and writes from, a field of the API's message. A store
/// lists its table's columns once; reading a row, inserting one and naming the columns of a
/// SELECT all come from that list, so a column cannot be read under one name and written under
/// another. Lists and maps are JSON text (`JSONColumn`); times are microseconds (`SQLValue`).
public struct MessageColumn<Message: SwiftProtobuf.Message>: Sendable {
    public let name: SQLIdentifier
    /// Written by INSERT; false for columns the database or a counter fills (`story_count`).
    public let isWritten: Bool
    let read: @Sendable (SQLRow, inout Message) throws -> Void
    let write: @Sendable (Message) throws -> SQLValue

    public init(_ name: SQLIdentifier, written: Bool = true, read: @escaping @Sendable (SQLRow, inout Message) throws -> Void,
                write: @escaping @Sendable (Message) throws -> SQLValue) {
        self.name = name
        self.isWritten = written
        self.read = read
        self.write = write
    }

    /// The same column, not written by INSERT.
    public var notWritten: MessageColumn {
        MessageColumn(name, written: false, read: read, write: write)
    }
}

extension MessageColumn {
    /// A column that always holds a value: read with `get`, written with `put`.
    static func value<Value>(_ name: SQLIdentifier, _ field: WritableKeyPath<Message, Value> & Sendable,
                             get: @escaping @Sendable (SQLRow, String) throws -> Value,
                             put: @escaping @Sendable (Value) -> SQLValue) -> MessageColumn {
        MessageColumn(name, read: { row, message in message[keyPath: field] = try get(row, name.text) },
                      write: { put($0[keyPath: field]) })
    }

    /// A column that may be NULL, for a field with presence (`hasX`): NULL leaves it unset, and
    /// an unset field writes NULL.
    static func present<Value>(_ name: SQLIdentifier, _ field: WritableKeyPath<Message, Value> & Sendable,
                               _ present: KeyPath<Message, Bool> & Sendable,
                               get: @escaping @Sendable (SQLRow, String) throws -> Value?,
                               put: @escaping @Sendable (Value) -> SQLValue) -> MessageColumn {
        MessageColumn(name, read: { row, message in
            if let value = try get(row, name.text) { message[keyPath: field] = value }
        }, write: { $0[keyPath: present] ? put($0[keyPath: field]) : .null })
    }

    public static func text(_ name: SQLIdentifier, _ field: WritableKeyPath<Message, String> & Sendable) -> MessageColumn {
        value(name, field, get: { try $0.string($1) }, put: { .text($0) })
    }

    public static func optionalText(_ name: SQLIdentifier, _ field: WritableKeyPath<Message, String> & Sendable,
                                    present flag: KeyPath<Message, Bool> & Sendable) -> MessageColumn {
        present(name, field, flag, get: { try $0.optionalString($1) }, put: { .text($0) })
    }

    /// A text column that may be NULL, for a plain field: NULL reads as "", and "" writes as NULL.
    public static func nullableText(_ name: SQLIdentifier, _ field: WritableKeyPath<Message, String> & Sendable) -> MessageColumn {
        value(name, field, get: { try $0.optionalString($1) ?? "" }, put: { $0.isEmpty ? .null : .text($0) })
    }

    public static func int(_ name: SQLIdentifier, _ field: WritableKeyPath<Message, Int64> & Sendable) -> MessageColumn {
        value(name, field, get: { try $0.int($1) }, put: { .int($0) })
    }

    public static func int32(_ name: SQLIdentifier, _ field: WritableKeyPath<Message, Int32> & Sendable) -> MessageColumn {
        value(name, field, get: { Int32(clamping: try $0.int($1)) }, put: { .int(Int64($0)) })
    }

    public static func double(_ name: SQLIdentifier, _ field: WritableKeyPath<Message, Double> & Sendable) -> MessageColumn {
        value(name, field, get: { try $0.double($1) }, put: { .double($0) })
    }

    public static func optionalDouble(_ name: SQLIdentifier, _ field: WritableKeyPath<Message, Double> & Sendable,
                                      present flag: KeyPath<Message, Bool> & Sendable) -> MessageColumn {
        present(name, field, flag, get: { try $0.optionalDouble($1) }, put: { .double($0) })
    }

    public static func bool(_ name: SQLIdentifier, _ field: WritableKeyPath<Message, Bool> & Sendable) -> MessageColumn {
        value(name, field, get: { try $0.bool($1) }, put: { .bool($0) })
    }

    public static func time(_ name: SQLIdentifier, _ field: WritableKeyPath<Message, Google_Protobuf_Timestamp> & Sendable) -> MessageColumn {
        value(name, field, get: { Google_Protobuf_Timestamp(date: try $0.date($1)) }, put: { .time($0.date) })
    }

    public static func optionalTime(_ name: SQLIdentifier, _ field: WritableKeyPath<Message, Google_Protobuf_Timestamp> & Sendable,
                                    present flag: KeyPath<Message, Bool> & Sendable) -> MessageColumn {
        present(name, field, flag, get: { try $0.optionalDate($1).map { Google_Protobuf_Timestamp(date: $0) } }, put: { .time($0.date) })
    }

    /// A list of strings, kept as JSON text.
    public static func list(_ name: SQLIdentifier, _ field: WritableKeyPath<Message, [String]> & Sendable) -> MessageColumn {
        value(name, field, get: { try JSONColumn.list($0, $1) }, put: { JSONColumn.encode($0) })
    }

    /// A map of strings, kept as JSON text.
    public static func map(_ name: SQLIdentifier, _ field: WritableKeyPath<Message, [String: String]> & Sendable) -> MessageColumn {
        value(name, field, get: { try JSONColumn.map($0, $1) }, put: { JSONColumn.encode($0) })
    }

    /// A nested message kept as its proto3 JSON, NULL when unset.
    public static func json<Nested: SwiftProtobuf.Message>(_ name: SQLIdentifier, _ field: WritableKeyPath<Message, Nested> & Sendable,
                                                         present: KeyPath<Message, Bool> & Sendable) -> MessageColumn {
        MessageColumn(name, read: { row, message in
            if let text = try row.optionalString(name.text) { message[keyPath: field] = try Nested(jsonString: text) }
        }, write: { $0[keyPath: present] ? .text(try $0[keyPath: field].jsonString()) : .null })
    }
}

extension Array {
    /// The columns' names, for a SELECT or an INSERT.
    public func names<Message>() -> [SQLIdentifier] where Element == MessageColumn<Message> { map(\.name) }

    /// A row read into the message the columns describe.
    public func read<Message>(_ row: SQLRow) throws -> Message where Element == MessageColumn<Message> {
        var message = Message()
        for column in self { try column.read(row, &message) }
        return message
    }

    /// The written columns' names and values for `message`.
    public func values<Message>(of message: Message) throws -> [(SQLIdentifier, SQLValue)] where Element == MessageColumn<Message> {
        try filter(\.isWritten).map { ($0.name, try $0.write(message)) }
    }
}
