import AtelierProtos
import Foundation
import SwiftProtobuf

/// What the edge knows of the API, read once at start-up from the descriptor set that
/// scripts/generate-protos writes beside the generated code: every message's fields, every
/// enum's values, and every method's HTTP rule and route options.
struct ProtoSchema: Sendable {
    struct Field: Sendable {
        enum Kind: Sendable, Equatable {
            case string, bytes, bool, double, int32, int64, uint32, uint64
            case enumeration(String)
            case message(String)
        }

        /// How the value sits on the wire, where `Kind` alone does not say (sint32 and int32 are
        /// both `.int32`; float and double both `.double`).
        enum Encoding: Sendable, Equatable {
            case varint, zigzag, fixed32, fixed64, delimited
        }

        let name: String
        let number: Int
        let encoding: Encoding
        let jsonName: String
        let kind: Kind
        let isRepeated: Bool
        let isMap: Bool
        /// proto3 `optional` or a oneof member: absent is different from the zero value.
        let hasPresence: Bool
        let comment: String
    }

    struct Message: Sendable {
        let fullName: String
        let fields: [Field]
        let isMapEntry: Bool
        let comment: String

        func field(named key: String) -> Field? {
            fields.first { $0.jsonName == key || $0.name == key }
        }
    }

    struct Enumeration: Sendable {
        let fullName: String
        /// Values in declaration order: the wire name and the name the REST API uses.
        let values: [(protoName: String, restName: String)]
        /// The REST name of each value's number.
        let restNames: [Int32: String]

        func restName(for protoName: String) -> String? {
            values.first { $0.protoName == protoName }?.restName
        }

        /// Accepts the REST name, the full proto name, in any case, or the number.
        func protoName(for input: String) -> String? {
            let upper = input.uppercased()
            return values.first { $0.restName.uppercased() == upper || $0.protoName == upper }?.protoName
        }
    }

    struct Method: Sendable {
        let service, name, inputType, outputType: String
        let http: Google_Api_HttpRule?
        let route: Atelier_Api_V1_RouteOptions
        let comment: String
        let serverStreaming: Bool
    }

    private(set) var messages: [String: Message] = [:]
    private(set) var enums: [String: Enumeration] = [:]
    private(set) var methods: [Method] = []

    static func bundled() throws -> ProtoSchema {
        do {
            return ProtoSchema(try AtelierDescriptors.load())
        } catch {
            throw EdgeError.internal("the API descriptor set is missing from the build: \(error)")
        }
    }

    init(_ set: Google_Protobuf_FileDescriptorSet) {
        for file in set.file {
            let comments = Comments(file)
            let prefix = file.package.isEmpty ? "" : file.package + "."
            for (index, message) in file.messageType.enumerated() {
                add(message, named: prefix + message.name, path: [4, Int32(index)], comments: comments)
            }
            for enumeration in file.enumType {
                add(enumeration, named: prefix + enumeration.name)
            }
            for (serviceIndex, service) in file.service.enumerated() {
                for (methodIndex, method) in service.method.enumerated() {
                    methods.append(Method(
                        service: prefix + service.name, name: method.name,
                        inputType: String(method.inputType.dropFirst()), outputType: String(method.outputType.dropFirst()),
                        http: method.options.hasGoogle_Api_http ? method.options.Google_Api_http : nil,
                        route: method.options.Atelier_Api_V1_route,
                        comment: comments.text(at: [6, Int32(serviceIndex), 2, Int32(methodIndex)]),
                        serverStreaming: method.serverStreaming))
                }
            }
        }
    }

    private mutating func add(_ descriptor: Google_Protobuf_DescriptorProto, named fullName: String, path: [Int32], comments: Comments) {
        for (index, nested) in descriptor.nestedType.enumerated() {
            add(nested, named: fullName + "." + nested.name, path: path + [3, Int32(index)], comments: comments)
        }
        for nested in descriptor.enumType {
            add(nested, named: fullName + "." + nested.name)
        }
        let fields = descriptor.field.enumerated().map { index, field in
            Field(
                name: field.name, number: Int(field.number), encoding: Self.encoding(of: field),
                jsonName: field.jsonName, kind: Self.kind(of: field),
                isRepeated: field.label == .repeated,
                isMap: false,  // settled below, once every map-entry type is known
                hasPresence: field.proto3Optional || field.hasOneofIndex,
                comment: comments.text(at: path + [2, Int32(index)]))
        }
        // Map fields are repeated fields of a map-entry message nested in this one.
        let resolved = fields.map { field -> Field in
            guard field.isRepeated, case .message(let type) = field.kind,
                  descriptor.nestedType.contains(where: { fullName + "." + $0.name == type && $0.options.mapEntry })
            else { return field }
            return Field(name: field.name, number: field.number, encoding: field.encoding, jsonName: field.jsonName,
                         kind: field.kind, isRepeated: true, isMap: true,
                         hasPresence: false, comment: field.comment)
        }
        messages[fullName] = Message(fullName: fullName, fields: resolved, isMapEntry: descriptor.options.mapEntry,
                                     comment: comments.text(at: path))
    }

    private mutating func add(_ descriptor: Google_Protobuf_EnumDescriptorProto, named fullName: String) {
        let names = descriptor.value.map(\.name)
        let prefix = Self.commonPrefix(names)
        let restName = { (name: String) in String(name.dropFirst(prefix.count)).lowercased() }
        enums[fullName] = Enumeration(
            fullName: fullName,
            values: names.map { ($0, restName($0)) },
            restNames: Dictionary(descriptor.value.map { ($0.number, restName($0.name)) }, uniquingKeysWith: { first, _ in first }))
    }

    /// `THEME_PREFERENCE_DARK` reads `dark`: the prefix every value shares, up to an underscore,
    /// is dropped. Enums whose values share none (grpc.health's SERVING) keep their names, lower-cased.
    static func commonPrefix(_ names: [String]) -> String {
        guard names.count > 1, var prefix = names.first else { return "" }
        for name in names.dropFirst() {
            while !name.hasPrefix(prefix) { prefix.removeLast() }
        }
        guard let underscore = prefix.lastIndex(of: "_") else { return "" }
        return String(prefix[...underscore])
    }

    private static func encoding(of field: Google_Protobuf_FieldDescriptorProto) -> Field.Encoding {
        switch field.type {
        case .int32, .int64, .uint32, .uint64, .bool, .enum: .varint
        case .sint32, .sint64: .zigzag
        case .fixed32, .sfixed32, .float: .fixed32
        case .fixed64, .sfixed64, .double: .fixed64
        case .string, .bytes, .message, .group: .delimited
        }
    }

    private static func kind(of field: Google_Protobuf_FieldDescriptorProto) -> Field.Kind {
        switch field.type {
        case .string: .string
        case .bytes: .bytes
        case .bool: .bool
        case .double, .float: .double
        case .int32, .sint32, .sfixed32: .int32
        case .int64, .sint64, .sfixed64: .int64
        case .uint32, .fixed32: .uint32
        case .uint64, .fixed64: .uint64
        case .enum: .enumeration(String(field.typeName.dropFirst()))
        case .message, .group: .message(String(field.typeName.dropFirst()))
        }
    }
}

/// Leading comments from a file's source info, by descriptor path, for the OpenAPI document.
private struct Comments {
    private var byPath: [[Int32]: String] = [:]

    init(_ file: Google_Protobuf_FileDescriptorProto) {
        for location in file.sourceCodeInfo.location where location.hasLeadingComments {
            byPath[location.path] = location.leadingComments
                .split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.joined(separator: " ")
        }
    }

    func text(at path: [Int32]) -> String { byPath[path] ?? "" }
}
