import Foundation

/// Writes a reply's protobuf bytes straight to the JSON the apps read, in one pass per message.
///
/// The JSON is what `JSONShaper.reply` makes of swift-protobuf's proto3 JSON: every field in
/// declaration order, zero or not; `null` for an absent optional or message; enums by their REST
/// names; 64-bit numbers as numbers; timestamps in RFC 3339. Going through swift-protobuf meant
/// decoding the message into Swift values, printing them as JSON, parsing that JSON and printing
/// it again; on a list of twenty heroes that was a fifth of the edge's work.
struct ReplyWriter: Sendable {
    /// A reply the schema cannot read: the service and the edge disagree about the API.
    struct Malformed: Error, Equatable {
        let message: String
    }

    private struct Plan: Sendable {
        var fields: [PlannedField] = []
        /// Field index by field number; -1 where no field has that number.
        var slots: [Int] = []
    }

    private enum Shape: Sendable {
        case string, bytes, bool, float, double, int32, int64, uint32, uint64
        case enumeration([Int32: String], defaultName: String)
        case timestamp
        case message(Int)
    }

    private struct PlannedField: Sendable {
        /// `"jsonName":`, escaped once.
        let key: [UInt8]
        let shape: Shape
        let encoding: ProtoSchema.Field.Encoding
        let isRepeated: Bool
        let hasPresence: Bool
        /// For a map: how its entries' keys and values are read.
        let mapKey: Shape?
        let mapValue: (shape: Shape, encoding: ProtoSchema.Field.Encoding)?
    }

    private let plans: [Plan]
    private let planIndex: [String: Int]

    init(schema: ProtoSchema) {
        let names = schema.messages.keys.sorted()
        let planIndex = Dictionary(uniqueKeysWithValues: names.enumerated().map { ($1, $0) })
        func shape(_ field: ProtoSchema.Field) -> Shape {
            switch field.kind {
            case .string: return .string
            case .bytes: return .bytes
            case .bool: return .bool
            case .double: return field.encoding == .fixed32 ? .float : .double
            case .int32: return .int32
            case .int64: return .int64
            case .uint32: return .uint32
            case .uint64: return .uint64
            case .enumeration(let name):
                let enumeration = schema.enums[name]
                return .enumeration(enumeration?.restNames ?? [:], defaultName: enumeration?.values.first?.restName ?? "")
            case .message("google.protobuf.Timestamp"): return .timestamp
            case .message(let name): return .message(planIndex[name] ?? -1)
            }
        }
        self.plans = names.map { name in
            let message = schema.messages[name]!
            var plan = Plan()
            plan.slots = Array(repeating: -1, count: (message.fields.map(\.number).max() ?? 0) + 1)
            for (index, field) in message.fields.enumerated() {
                var key = [UInt8]()
                JSONValue.writeString(field.jsonName, into: &key)
                key.append(UInt8(ascii: ":"))
                var mapKey: Shape?
                var mapValue: (Shape, ProtoSchema.Field.Encoding)?
                if field.isMap, case .message(let entryName) = field.kind, let entry = schema.messages[entryName],
                   let keyField = entry.fields.first(where: { $0.number == 1 }),
                   let valueField = entry.fields.first(where: { $0.number == 2 }) {
                    mapKey = shape(keyField)
                    mapValue = (shape(valueField), valueField.encoding)
                }
                plan.fields.append(PlannedField(
                    key: key, shape: shape(field), encoding: field.encoding, isRepeated: field.isRepeated,
                    hasPresence: field.hasPresence, mapKey: mapKey, mapValue: mapValue))
                plan.slots[field.number] = index
            }
            return plan
        }
        self.planIndex = planIndex
    }

    /// The reply as JSON bytes; `messageName` is the reply's full proto name.
    func json(_ bytes: [UInt8], as messageName: String) throws(Malformed) -> [UInt8] {
        guard let index = planIndex[messageName] else { throw Malformed(message: "unknown message \(messageName)") }
        var out = [UInt8]()
        out.reserveCapacity(bytes.count * 2 + 64)
        try bytes.withUnsafeBufferPointer { buffer throws(Malformed) in
            var reader = WireReader(buffer: buffer, start: 0, end: buffer.count)
            try writeMessage(plan: index, reader: &reader, into: &out)
        }
        return out
    }

    // MARK: Writing

    /// One field occurrence on the wire: a varint or fixed value, or the range of a delimited one.
    private struct Occurrence {
        let field: Int
        let wireType: UInt8
        let value: UInt64
        let start: Int
        let end: Int
    }

    private func writeMessage(plan index: Int, reader: inout WireReader, into out: inout [UInt8]) throws(Malformed) {
        guard plans.indices.contains(index) else { throw Malformed(message: "a message type the edge does not know") }
        let plan = plans[index]
        var found: [Occurrence] = []
        while !reader.atEnd {
            let tag = try reader.varint()
            let number = Int(truncatingIfNeeded: tag >> 3)
            let wireType = UInt8(tag & 7)
            var value: UInt64 = 0
            var start = 0, end = 0
            switch wireType {
            case 0: value = try reader.varint()
            case 1: value = try reader.fixed(8)
            case 5: value = try reader.fixed(4)
            case 2: (start, end) = try reader.delimited()
            default: throw Malformed(message: "wire type \(wireType) is not used by proto3")
            }
            // Fields the edge does not know (a newer service) are skipped, as proto3 readers do.
            guard number > 0, number < plan.slots.count, plan.slots[number] >= 0 else { continue }
            found.append(Occurrence(field: plan.slots[number], wireType: wireType, value: value, start: start, end: end))
        }
        // Services write fields in number order, which is almost always declaration order too.
        if zip(found, found.dropFirst()).contains(where: { $0.field > $1.field }) {
            found = found.enumerated().sorted { ($0.element.field, $0.offset) < ($1.element.field, $1.offset) }.map(\.element)
        }

        out.append(UInt8(ascii: "{"))
        var cursor = 0
        for (fieldIndex, field) in plan.fields.enumerated() {
            if fieldIndex > 0 { out.append(UInt8(ascii: ",")) }
            out.append(contentsOf: field.key)
            let first = cursor
            while cursor < found.count, found[cursor].field == fieldIndex { cursor += 1 }
            let occurrences = found[first..<cursor]

            if let mapKey = field.mapKey, let mapValue = field.mapValue {
                try writeMap(occurrences, key: mapKey, value: mapValue, reader: reader, into: &out)
            } else if field.isRepeated {
                out.append(UInt8(ascii: "["))
                var written = 0
                for occurrence in occurrences {
                    if occurrence.wireType == 2, field.encoding != .delimited {
                        // Packed scalars: one delimited run of values.
                        var packed = reader.sub(occurrence.start, occurrence.end)
                        while !packed.atEnd {
                            if written > 0 { out.append(UInt8(ascii: ",")) }
                            let value = field.encoding == .fixed32 ? try packed.fixed(4)
                                : field.encoding == .fixed64 ? try packed.fixed(8) : try packed.varint()
                            try writeValue(field.shape, encoding: field.encoding, value: value, range: (0, 0), reader: reader, into: &out)
                            written += 1
                        }
                    } else {
                        if written > 0 { out.append(UInt8(ascii: ",")) }
                        try writeOccurrence(occurrence, shape: field.shape, encoding: field.encoding, reader: reader, into: &out)
                        written += 1
                    }
                }
                out.append(UInt8(ascii: "]"))
            } else if let last = occurrences.last {
                // A repeated occurrence of a singular field: the last one wins, as in every proto reader.
                try writeOccurrence(last, shape: field.shape, encoding: field.encoding, reader: reader, into: &out)
            } else {
                writeDefault(field, into: &out)
            }
        }
        out.append(UInt8(ascii: "}"))
    }

    private func writeOccurrence(_ occurrence: Occurrence, shape: Shape, encoding: ProtoSchema.Field.Encoding,
                                 reader: WireReader, into out: inout [UInt8]) throws(Malformed) {
        let expected: UInt8 = switch encoding {
        case .varint, .zigzag: 0
        case .fixed64: 1
        case .fixed32: 5
        case .delimited: 2
        }
        guard occurrence.wireType == expected else { throw Malformed(message: "a field arrived with the wrong wire type") }
        try writeValue(shape, encoding: encoding, value: occurrence.value, range: (occurrence.start, occurrence.end),
                       reader: reader, into: &out)
    }

    private func writeValue(_ shape: Shape, encoding: ProtoSchema.Field.Encoding, value raw: UInt64, range: (Int, Int),
                            reader: WireReader, into out: inout [UInt8]) throws(Malformed) {
        let value = encoding == .zigzag ? (raw >> 1) ^ (0 &- (raw & 1)) : raw
        switch shape {
        case .string:
            JSONValue.writeString(utf8: reader.bytes(range.0, range.1), into: &out)
        case .bytes:
            let base64 = Data(reader.bytes(range.0, range.1)).base64EncodedString()
            JSONValue.writeString(base64, into: &out)
        case .bool:
            out.append(contentsOf: value != 0 ? Self.trueText : Self.falseText)
        case .int32:
            Self.writeInteger(Int64(Int32(truncatingIfNeeded: value)), into: &out)
        case .int64:
            Self.writeInteger(Int64(bitPattern: value), into: &out)
        case .uint32:
            Self.writeUnsigned(UInt64(UInt32(truncatingIfNeeded: value)), into: &out)
        case .uint64:
            Self.writeUnsigned(value, into: &out)
        case .float:
            Self.writeFloatingPoint(Float(bitPattern: UInt32(truncatingIfNeeded: value)), into: &out)
        case .double:
            Self.writeFloatingPoint(Double(bitPattern: value), into: &out)
        case .enumeration(let names, _):
            let number = Int32(truncatingIfNeeded: value)
            if let name = names[number] {
                JSONValue.writeString(name, into: &out)
            } else {
                // A value newer than the edge's schema: its number, as proto3 JSON writes it.
                Self.writeInteger(Int64(number), into: &out)
            }
        case .timestamp:
            var nested = reader.sub(range.0, range.1)
            try Self.writeTimestamp(&nested, into: &out)
        case .message(let index):
            var nested = reader.sub(range.0, range.1)
            try writeMessage(plan: index, reader: &nested, into: &out)
        }
    }

    private func writeMap(_ entries: ArraySlice<Occurrence>, key: Shape, value: (shape: Shape, encoding: ProtoSchema.Field.Encoding),
                          reader: WireReader, into out: inout [UInt8]) throws(Malformed) {
        out.append(UInt8(ascii: "{"))
        for (index, entry) in entries.enumerated() {
            guard entry.wireType == 2 else { throw Malformed(message: "a map entry arrived with the wrong wire type") }
            var entryReader = reader.sub(entry.start, entry.end)
            var keyBytes: [UInt8] = []
            var valueBytes: [UInt8] = []
            while !entryReader.atEnd {
                let tag = try entryReader.varint()
                let wireType = UInt8(tag & 7)
                var raw: UInt64 = 0
                var range = (0, 0)
                switch wireType {
                case 0: raw = try entryReader.varint()
                case 1: raw = try entryReader.fixed(8)
                case 5: raw = try entryReader.fixed(4)
                case 2: range = try entryReader.delimited()
                default: throw Malformed(message: "wire type \(wireType) is not used by proto3")
                }
                switch tag >> 3 {
                case 1:
                    keyBytes.removeAll(keepingCapacity: true)
                    let keyEncoding: ProtoSchema.Field.Encoding = wireType == 2 ? .delimited : .varint
                    try writeValue(key, encoding: keyEncoding, value: raw, range: range, reader: reader, into: &keyBytes)
                case 2:
                    valueBytes.removeAll(keepingCapacity: true)
                    try writeValue(value.shape, encoding: value.encoding, value: raw, range: range, reader: reader, into: &valueBytes)
                default:
                    continue
                }
            }
            if index > 0 { out.append(UInt8(ascii: ",")) }
            // JSON keys are strings: a number or bool key is quoted.
            if keyBytes.first == UInt8(ascii: "\"") {
                out.append(contentsOf: keyBytes)
            } else if keyBytes.isEmpty {
                out.append(contentsOf: Self.emptyString)
            } else {
                out.append(UInt8(ascii: "\""))
                out.append(contentsOf: keyBytes)
                out.append(UInt8(ascii: "\""))
            }
            out.append(UInt8(ascii: ":"))
            if valueBytes.isEmpty {
                Self.writeZero(value.shape, into: &out)
            } else {
                out.append(contentsOf: valueBytes)
            }
        }
        out.append(UInt8(ascii: "}"))
    }

    private func writeDefault(_ field: PlannedField, into out: inout [UInt8]) {
        if field.mapKey != nil { out.append(contentsOf: Self.emptyObject); return }
        if field.isRepeated { out.append(contentsOf: Self.emptyArray); return }
        if field.hasPresence { out.append(contentsOf: Self.nullText); return }
        Self.writeZero(field.shape, into: &out)
    }

    private static func writeZero(_ shape: Shape, into out: inout [UInt8]) {
        switch shape {
        case .string, .bytes: out.append(contentsOf: emptyString)
        case .bool: out.append(contentsOf: falseText)
        case .float, .double, .int32, .int64, .uint32, .uint64: out.append(UInt8(ascii: "0"))
        case .enumeration(_, let defaultName): JSONValue.writeString(defaultName, into: &out)
        case .timestamp, .message: out.append(contentsOf: nullText)
        }
    }

    private static let trueText = Array("true".utf8)
    private static let falseText = Array("false".utf8)
    private static let nullText = Array("null".utf8)
    private static let emptyString = Array("\"\"".utf8)
    private static let emptyArray = Array("[]".utf8)
    private static let emptyObject = Array("{}".utf8)
}
