import AtelierProtos
import Foundation
import SwiftProtobuf
import Testing
@testable import Edge

/// ReplyWriter must write exactly what the long way wrote: swift-protobuf's proto3 JSON, reshaped
/// by JSONShaper. Every message of the API is checked empty and filled in.
@Suite("Replies written from protobuf bytes")
struct ReplyWriterTests {
    static let schema = try! ProtoSchema.bundled()

    static func longWay(_ message: any SwiftProtobuf.Message) throws -> JSONValue {
        let json = try JSONParser.parse(Array(try message.jsonUTF8Bytes(options: Transcoder.encoding) as [UInt8]))
        return JSONShaper(schema: schema).reply(json, as: type(of: message).protoMessageName)
    }

    static func directly(_ message: any SwiftProtobuf.Message) throws -> JSONValue {
        let bytes: [UInt8] = try message.serializedBytes()
        return try JSONParser.parse(try ReplyWriter(schema: schema).json(bytes, as: type(of: message).protoMessageName))
    }

    @Test("every message, empty, reads the same both ways")
    func empty() throws {
        for type in atelierMessageTypes {
            let message = type.init()
            #expect(try Self.directly(message) == Self.longWay(message), "\(type.protoMessageName)")
        }
    }

    @Test("every message, with every field set, reads the same both ways")
    func filled() throws {
        // google.api.HttpRule is an option, never a reply, and its oneof cannot have every member set.
        for (variant, type) in atelierMessageTypes.enumerated() where !type.protoMessageName.hasPrefix("google.api.") {
            let json = Self.sample(type.protoMessageName, depth: 0, variant: variant).serialized()
            let message = try type.init(jsonUTF8Bytes: json)
            #expect(try Self.directly(message) == Self.longWay(message), "\(type.protoMessageName)")
        }
    }

    @Test("timestamps keep 0, 3, 6 or 9 fractional digits and dates before 1970")
    func timestamps() throws {
        let cases: [(Int64, Int32)] = [(0, 0), (1_700_000_000, 5_000_000), (1_700_000_000, 123_456_000), (1_700_000_000, 1),
                                       (-1, 999_999_999), (-62_135_596_800, 0), (253_402_300_799, 0), (951_782_400, 0)]
        for (seconds, nanos) in cases {
            var hero = Atelier_Catalog_V1_Hero()
            hero.createdAt = .init(seconds: seconds, nanos: nanos)
            #expect(try Self.directly(hero) == Self.longWay(hero), "\(seconds).\(nanos)")
        }
    }

    @Test("strings with quotes, control characters and non-ASCII text are escaped as before")
    func strings() throws {
        var hero = Atelier_Catalog_V1_Hero()
        hero.name = "Zoë \"the brave\"\n\t\\ \u{01} 勇者 🦸"
        hero.traits = ["", "a\u{1F}b"]
        #expect(try Self.directly(hero) == Self.longWay(hero))
    }

    @Test("a reply cut short is refused, not misread")
    func truncated() throws {
        var hero = Atelier_Catalog_V1_HeroResponse()
        hero.hero.name = "Mira"
        let bytes: [UInt8] = try hero.serializedBytes()
        #expect(throws: ReplyWriter.Malformed.self) {
            try ReplyWriter(schema: Self.schema).json(Array(bytes.dropLast()), as: Atelier_Catalog_V1_HeroResponse.protoMessageName)
        }
    }

    /// Proto3 JSON with every field of a message set, nested messages two levels deep.
    static func sample(_ name: String, depth: Int, variant: Int) -> JSONValue {
        guard let message = schema.messages[name], depth < 3 else { return .object([]) }
        var members: [(String, JSONValue)] = []
        for (index, field) in message.fields.enumerated() {
            let seed = variant + index
            if field.isMap {
                guard case .message(let entryName) = field.kind,
                      let value = schema.messages[entryName]?.fields.first(where: { $0.name == "value" }) else { continue }
                members.append((field.jsonName, .object([("height", scalar(value, depth: depth, seed: seed)),
                                                         ("hair \"colour\"", scalar(value, depth: depth, seed: seed + 1))])))
            } else if field.isRepeated {
                members.append((field.jsonName, .array([scalar(field, depth: depth, seed: seed), scalar(field, depth: depth, seed: seed + 1)])))
            } else {
                members.append((field.jsonName, scalar(field, depth: depth, seed: seed)))
            }
        }
        return .object(members)
    }

    static func scalar(_ field: ProtoSchema.Field, depth: Int, seed: Int) -> JSONValue {
        switch field.kind {
        case .string: return .string(seed % 3 == 0 ? "" : "text \(seed) \"é\"\n")
        case .bytes: return .string(Data("bytes \(seed)".utf8).base64EncodedString())
        case .bool: return .bool(seed % 2 == 1)
        case .double: return .number(["0", "2.5", "-1e-07", "3", "1234567.125"][seed % 5])
        case .int32, .int64: return .number(["0", "-7", "42", "2147483647"][seed % 4])
        case .uint32, .uint64: return .number(["0", "7", "4294967295"][seed % 3])
        case .enumeration(let name):
            let values = schema.enums[name]?.values ?? []
            return values.isEmpty ? .number("0") : .string(values[seed % values.count].protoName)
        case .message("google.protobuf.Timestamp"):
            return .string(["2026-11-22T10:00:00Z", "1969-12-31T23:59:59.500Z", "2024-02-29T12:34:56.123456Z", "2001-01-01T00:00:00.000000001Z"][seed % 4])
        case .message(let name):
            return sample(name, depth: depth + 1, variant: seed)
        }
    }
}
