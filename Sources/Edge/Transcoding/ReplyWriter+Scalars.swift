/// Numbers and timestamps written as swift-protobuf's proto3 JSON writes them, so a reply reads the
/// same whichever way the edge produced it.
extension ReplyWriter {
    static func writeInteger(_ value: Int64, into out: inout [UInt8]) {
        if value < 0 {
            out.append(UInt8(ascii: "-"))
            writeUnsigned(value.magnitude, into: &out)
        } else {
            writeUnsigned(UInt64(value), into: &out)
        }
    }

    static func writeUnsigned(_ value: UInt64, into out: inout [UInt8]) {
        let start = out.count
        var rest = value
        repeat {
            out.append(UInt8(ascii: "0") + UInt8(rest % 10))
            rest /= 10
        } while rest > 0
        out[start...].reverse()
    }

    /// As swift-protobuf writes them: the shortest text that reads back the same, and the
    /// proto3 JSON names for values JSON numbers cannot hold.
    static func writeFloatingPoint<F: BinaryFloatingPoint & CustomDebugStringConvertible>(_ value: F, into out: inout [UInt8]) {
        if value.isNaN {
            out.append(contentsOf: "\"NaN\"".utf8)
        } else if value.isInfinite {
            out.append(contentsOf: (value < 0 ? "\"-Infinity\"" : "\"Infinity\"").utf8)
        } else {
            out.append(contentsOf: value.debugDescription.utf8)
        }
    }

    /// RFC 3339 in UTC with 0, 3, 6 or 9 fractional digits, as proto3 JSON writes a Timestamp.
    static func writeTimestamp(_ reader: inout WireReader, into out: inout [UInt8]) throws(Malformed) {
        var seconds: Int64 = 0
        var nanos: Int32 = 0
        while !reader.atEnd {
            let tag = try reader.varint()
            switch (tag >> 3, tag & 7) {
            case (1, 0): seconds = Int64(bitPattern: try reader.varint())
            case (2, 0): nanos = Int32(truncatingIfNeeded: try reader.varint())
            case (_, 0): _ = try reader.varint()
            case (_, 1): _ = try reader.fixed(8)
            case (_, 5): _ = try reader.fixed(4)
            case (_, 2): _ = try reader.delimited()
            default: throw Malformed(message: "a timestamp arrived with a wire type proto3 does not use")
            }
        }
        // 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z, the range proto3 JSON allows.
        guard (-62_135_596_800...253_402_300_799).contains(seconds), (0...999_999_999).contains(nanos) else {
            throw Malformed(message: "a timestamp outside the years 1 to 9999")
        }
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let secondOfDay = seconds - days * 86_400
        let (year, month, day) = civilDate(daysSince1970: days)
        out.append(UInt8(ascii: "\""))
        appendDigits(year, count: 4, into: &out)
        out.append(UInt8(ascii: "-"))
        appendDigits(month, count: 2, into: &out)
        out.append(UInt8(ascii: "-"))
        appendDigits(day, count: 2, into: &out)
        out.append(UInt8(ascii: "T"))
        appendDigits(secondOfDay / 3600, count: 2, into: &out)
        out.append(UInt8(ascii: ":"))
        appendDigits(secondOfDay % 3600 / 60, count: 2, into: &out)
        out.append(UInt8(ascii: ":"))
        appendDigits(secondOfDay % 60, count: 2, into: &out)
        if nanos != 0 {
            out.append(UInt8(ascii: "."))
            if nanos % 1_000_000 == 0 {
                appendDigits(Int64(nanos / 1_000_000), count: 3, into: &out)
            } else if nanos % 1000 == 0 {
                appendDigits(Int64(nanos / 1000), count: 6, into: &out)
            } else {
                appendDigits(Int64(nanos), count: 9, into: &out)
            }
        }
        out.append(contentsOf: "Z\"".utf8)
    }

    static func appendDigits(_ value: Int64, count: Int, into out: inout [UInt8]) {
        var divisor: Int64 = 1
        for _ in 1..<count { divisor *= 10 }
        var rest = value
        while divisor > 0 {
            out.append(UInt8(ascii: "0") + UInt8(rest / divisor))
            rest %= divisor
            divisor /= 10
        }
    }

    /// The proleptic Gregorian date of a day counted from 1970-01-01 (Howard Hinnant's algorithm).
    static func civilDate(daysSince1970 days: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let shiftedMonth = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * shiftedMonth + 2) / 5 + 1
        let month = shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}
