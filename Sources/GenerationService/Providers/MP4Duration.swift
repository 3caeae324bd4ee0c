/// The length of an MP4 file from its movie header (`moov/mvhd`: a time scale and a duration),
/// so a provider's video is recorded with its real length. nil when the file has no such box.
enum MP4Duration {
    static func seconds(_ bytes: [UInt8]) -> Double? {
        guard let moov = box("moov", in: bytes, range: 0..<bytes.count), let mvhd = box("mvhd", in: bytes, range: moov) else { return nil }
        let start = mvhd.lowerBound
        guard start + 32 <= bytes.count else { return nil }
        let version = bytes[start]
        if version == 1 {
            guard start + 36 <= mvhd.upperBound else { return nil }
            let scale = Int(bigEndian: bytes, at: start + 20)
            let duration = Int(bigEndian: bytes, at: start + 24) << 32 | Int(bigEndian: bytes, at: start + 28)
            return scale > 0 ? Double(duration) / Double(scale) : nil
        }
        let scale = Int(bigEndian: bytes, at: start + 12), duration = Int(bigEndian: bytes, at: start + 16)
        return scale > 0 ? Double(duration) / Double(scale) : nil
    }

    /// The contents of the first box of `type` directly inside `range`.
    private static func box(_ type: String, in bytes: [UInt8], range: Range<Int>) -> Range<Int>? {
        let wanted = Array(type.utf8)
        var offset = range.lowerBound
        while offset + 8 <= range.upperBound {
            var size = Int(bigEndian: bytes, at: offset)
            var header = 8
            if size == 1, offset + 16 <= range.upperBound {
                size = Int(bigEndian: bytes, at: offset + 8) << 32 | Int(bigEndian: bytes, at: offset + 12)
                header = 16
            } else if size == 0 {
                size = range.upperBound - offset
            }
            guard size >= header, offset + size <= range.upperBound else { return nil }
            if bytes[(offset + 4)..<(offset + 8)].elementsEqual(wanted) { return (offset + header)..<(offset + size) }
            offset += size
        }
        return nil
    }
}
