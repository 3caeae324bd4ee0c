/// Reads protobuf's wire format from a byte range.
struct WireReader {
    let buffer: UnsafeBufferPointer<UInt8>
    var position: Int
    let end: Int

    init(buffer: UnsafeBufferPointer<UInt8>, start: Int, end: Int) {
        self.buffer = buffer
        self.position = start
        self.end = end
    }

    var atEnd: Bool { position >= end }

    func sub(_ start: Int, _ end: Int) -> WireReader { WireReader(buffer: buffer, start: start, end: end) }

    func bytes(_ start: Int, _ end: Int) -> UnsafeBufferPointer<UInt8> { UnsafeBufferPointer(rebasing: buffer[start..<end]) }

    mutating func varint() throws(ReplyWriter.Malformed) -> UInt64 {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while position < end, shift < 64 {
            let byte = buffer[position]
            position += 1
            value |= UInt64(byte & 0x7f) << shift
            if byte & 0x80 == 0 { return value }
            shift += 7
        }
        throw ReplyWriter.Malformed(message: "a varint runs past its message")
    }

    mutating func fixed(_ size: Int) throws(ReplyWriter.Malformed) -> UInt64 {
        guard end - position >= size else { throw ReplyWriter.Malformed(message: "a fixed-width value runs past its message") }
        var value: UInt64 = 0
        for offset in 0..<size { value |= UInt64(buffer[position + offset]) << (8 * UInt64(offset)) }
        position += size
        return value
    }

    mutating func delimited() throws(ReplyWriter.Malformed) -> (Int, Int) {
        let length = try varint()
        guard length <= UInt64(end - position) else { throw ReplyWriter.Malformed(message: "a field runs past its message") }
        let start = position
        position += Int(length)
        return (start, position)
    }
}
