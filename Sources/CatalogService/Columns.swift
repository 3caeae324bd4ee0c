import AtelierProtos
import Foundation
import ServiceKit
import SwiftProtobuf

/// Lists and maps are kept as JSON text: they are read and written whole, never queried inside
/// (tags, which are filtered on, also have their own table).
enum JSONColumn {
    static func encode(_ list: [String]) -> SQLValue {
        .text(String(decoding: (try? JSONEncoder().encode(list)) ?? Data("[]".utf8), as: UTF8.self))
    }

    static func encode(_ map: [String: String]) -> SQLValue {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return .text(String(decoding: (try? encoder.encode(map)) ?? Data("{}".utf8), as: UTF8.self))
    }

    static func list(_ row: SQLRow, _ column: String) throws -> [String] {
        guard let text = try row.optionalString(column) else { return [] }
        return (try? JSONDecoder().decode([String].self, from: Data(text.utf8))) ?? []
    }

    static func map(_ row: SQLRow, _ column: String) throws -> [String: String] {
        guard let text = try row.optionalString(column) else { return [:] }
        return (try? JSONDecoder().decode([String: String].self, from: Data(text.utf8))) ?? [:]
    }
}

extension SQLRow {
    func timestamp(_ column: String) throws -> Google_Protobuf_Timestamp {
        Google_Protobuf_Timestamp(date: try date(column))
    }

    func optionalTimestamp(_ column: String) throws -> Google_Protobuf_Timestamp? {
        try optionalDate(column).map { Google_Protobuf_Timestamp(date: $0) }
    }
}
