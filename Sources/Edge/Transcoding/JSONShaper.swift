import Foundation

/// Reshapes JSON between what the apps speak and what swift-protobuf reads and writes:
/// - replies list every field a client reads, zero or not (`"total": 0`, `"heroes": []`), with
///   `null` for an absent optional or message, and enums as the seeds write them (`"dark"`);
/// - requests may name enums either way (`"dark"` or `"THEME_PREFERENCE_DARK"`), and a field of the
///   wrong type or an unknown field is refused with a message naming it.
struct JSONShaper: Sendable {
    let schema: ProtoSchema

    // MARK: Replies

    func reply(_ value: JSONValue, as messageName: String) -> JSONValue {
        guard let message = schema.messages[messageName], case .object(let members) = value else { return value }
        var out: [(String, JSONValue)] = []
        out.reserveCapacity(message.fields.count)
        for field in message.fields {
            let present = members.first { $0.0 == field.jsonName }?.1
            out.append((field.jsonName, present.map { reply($0, field: field) } ?? defaultValue(field)))
        }
        return .object(out)
    }

    private func reply(_ value: JSONValue, field: ProtoSchema.Field) -> JSONValue {
        if field.isMap {
            guard case .object(let members) = value,
                  case .message(let entryName) = field.kind,
                  let valueField = schema.messages[entryName]?.fields.first(where: { $0.name == "value" })
            else { return value }
            return .object(members.map { ($0.0, replyScalar($0.1, field: valueField)) })
        }
        if field.isRepeated, case .array(let items) = value {
            return .array(items.map { replyScalar($0, field: field) })
        }
        return replyScalar(value, field: field)
    }

    private func replyScalar(_ value: JSONValue, field: ProtoSchema.Field) -> JSONValue {
        switch field.kind {
        case .enumeration(let name):
            guard case .string(let protoName) = value, let restName = schema.enums[name]?.restName(for: protoName) else { return value }
            return .string(restName)
        case .message(let name) where !Self.isWellKnown(name):
            return reply(value, as: name)
        default:
            return value
        }
    }

    private func defaultValue(_ field: ProtoSchema.Field) -> JSONValue {
        if field.isMap { return .object([]) }
        if field.isRepeated { return .array([]) }
        if field.hasPresence { return .null }
        switch field.kind {
        case .string, .bytes: return .string("")
        case .bool: return .bool(false)
        case .double, .int32, .int64, .uint32, .uint64: return .number("0")
        case .enumeration(let name): return .string(schema.enums[name]?.values.first?.restName ?? "")
        case .message: return .null
        }
    }

    static func isWellKnown(_ messageName: String) -> Bool { messageName.hasPrefix("google.protobuf.") }

    // MARK: Requests

    func request(_ value: JSONValue, as messageName: String, path: String = "") throws(EdgeError) -> JSONValue {
        guard case .object(let members) = value else {
            throw .invalidField(path.isEmpty ? "body" : path, "must be a JSON object, not \(value.typeName)")
        }
        guard let message = schema.messages[messageName] else { return value }
        var out: [(String, JSONValue)] = []
        for (key, member) in members {
            let fieldPath = path.isEmpty ? key : path + "." + key
            guard let field = message.field(named: key) else {
                throw .unknownField(fieldPath)
            }
            // null means "not given", as in proto3 JSON.
            if case .null = member { continue }
            out.append((field.jsonName, try request(member, field: field, path: fieldPath)))
        }
        return .object(out)
    }

    private func request(_ value: JSONValue, field: ProtoSchema.Field, path: String) throws(EdgeError) -> JSONValue {
        if field.isMap {
            guard case .object = value else { throw .invalidField(path, "must be an object") }
            return value
        }
        if field.isRepeated {
            guard case .array(let items) = value else { throw .invalidField(path, "must be an array, not \(value.typeName)") }
            var out: [JSONValue] = []
            for (index, item) in items.enumerated() {
                out.append(try requestScalar(item, field: field, path: "\(path)[\(index)]"))
            }
            return .array(out)
        }
        return try requestScalar(value, field: field, path: path)
    }

    private func requestScalar(_ value: JSONValue, field: ProtoSchema.Field, path: String) throws(EdgeError) -> JSONValue {
        switch (field.kind, value) {
        case (.string, .string), (.bytes, .string), (.bool, .bool):
            return value
        case (.double, .number), (.double, .string):
            return value
        case (.int32, .number(let text)), (.int64, .number(let text)), (.uint32, .number(let text)), (.uint64, .number(let text)),
             (.int64, .string(let text)), (.uint64, .string(let text)), (.int32, .string(let text)), (.uint32, .string(let text)):
            try Self.checkInteger(text, kind: field.kind, path: path)
            return .number(text)
        case (.enumeration(let name), .string(let text)):
            guard let enumeration = schema.enums[name], let protoName = enumeration.protoName(for: text) else {
                let allowed = schema.enums[name]?.values.dropFirst().map(\.restName).joined(separator: ", ") ?? ""
                throw .invalidField(path, "must be one of \(allowed)")
            }
            return .string(protoName)
        case (.message("google.protobuf.Timestamp"), .string(let text)):
            guard Self.isTimestamp(text) else { throw .invalidField(path, "must be an RFC 3339 time, such as 2026-12-01T09:30:00Z") }
            return value
        case (.message("google.protobuf.Timestamp"), _):
            throw .invalidField(path, "must be an RFC 3339 time, not \(value.typeName)")
        case (.message(let name), _) where Self.isWellKnown(name):
            return value
        case (.message(let name), .object):
            return try request(value, as: name, path: path)
        default:
            throw .invalidField(path, "must be \(Self.expected(field.kind)), not \(value.typeName)")
        }
    }

    /// Converts a path or query parameter, always text, to the JSON its field expects.
    func parameter(_ text: String, field: ProtoSchema.Field, name: String) throws(EdgeError) -> JSONValue {
        switch field.kind {
        case .string, .bytes: return .string(text)
        case .bool:
            switch text.lowercased() {
            case "true", "1": return .bool(true)
            case "false", "0": return .bool(false)
            default: throw .invalidField(name, "must be true or false")
            }
        case .int32, .int64, .uint32, .uint64:
            try Self.checkInteger(text, kind: field.kind, path: name)
            return .number(text)
        case .double:
            guard Double(text) != nil else { throw .invalidField(name, "must be a number") }
            return .number(text)
        case .enumeration:
            return try requestScalar(.string(text), field: field, path: name)
        case .message(let name) where Self.isWellKnown(name):
            return .string(text)
        case .message:
            throw .invalidField(name, "cannot be given as a query parameter")
        }
    }

    /// A whole number the field's type can hold, or a 400 naming the field and the range.
    static func checkInteger(_ text: String, kind: ProtoSchema.Field.Kind, path: String) throws(EdgeError) {
        let range: (low: String, high: String, fits: Bool) = switch kind {
        case .int32: ("-2147483648", "2147483647", Int32(text) != nil)
        case .uint32: ("0", "4294967295", UInt32(text) != nil)
        case .uint64: ("0", "18446744073709551615", UInt64(text) != nil)
        default: ("-9223372036854775808", "9223372036854775807", Int64(text) != nil)
        }
        var digits = Substring(text)
        if digits.hasPrefix("-") { digits = digits.dropFirst() }
        guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else { throw .invalidField(path, "must be a whole number") }
        guard range.fits else { throw .invalidField(path, "must be a whole number from \(range.low) to \(range.high)") }
    }

    /// `2026-12-01T09:30:00Z`, with or without fractions of a second, in UTC or with an offset.
    static func isTimestamp(_ text: String) -> Bool {
        (try? Date(text, strategy: .iso8601)) != nil
            || (try? Date(text, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true))) != nil
    }

    static func expected(_ kind: ProtoSchema.Field.Kind) -> String {
        switch kind {
        case .string, .bytes: "a string"
        case .bool: "true or false"
        case .double: "a number"
        case .int32, .int64, .uint32, .uint64: "a whole number"
        case .enumeration: "a string"
        case .message: "an object"
        }
    }
}
