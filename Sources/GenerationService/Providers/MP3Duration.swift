/// The length of an MP3 from its frame headers (MPEG-1, 2 and 2.5, layer III), after an ID3v2
/// tag if there is one: each frame says its bit rate and sample rate, so its length and the
/// samples it holds follow. Parts of a long narration are concatenated frame streams, so their
/// sum reads the same way. nil when no frame is found.
enum MP3Duration {
    private static let bitrates: [[Int]] = [
        [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 0],  // MPEG-1 layer III
        [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160, 0],      // MPEG-2 and 2.5 layer III
    ]
    private static let sampleRates: [[Int]] = [[44_100, 48_000, 32_000], [22_050, 24_000, 16_000], [11_025, 12_000, 8_000]]

    static func seconds(_ bytes: [UInt8]) -> Double? {
        var offset = 0
        // An ID3v2 tag: "ID3", version, flags, then a size of four 7-bit bytes.
        if bytes.count >= 10, bytes[0] == 0x49, bytes[1] == 0x44, bytes[2] == 0x33 {
            offset = 10 + (Int(bytes[6]) << 21 | Int(bytes[7]) << 14 | Int(bytes[8]) << 7 | Int(bytes[9]))
        }
        var seconds = 0.0
        var frames = 0
        while offset + 4 <= bytes.count {
            guard bytes[offset] == 0xFF, bytes[offset + 1] & 0xE0 == 0xE0 else {
                // Not a frame boundary (a second tag between parts): look for the next sync.
                offset += 1
                continue
            }
            let version = (bytes[offset + 1] >> 3) & 0x03  // 3: MPEG-1, 2: MPEG-2, 0: MPEG-2.5
            let layer = (bytes[offset + 1] >> 1) & 0x03     // 1: layer III
            let bitrateIndex = Int(bytes[offset + 2] >> 4), rateIndex = Int((bytes[offset + 2] >> 2) & 0x03)
            let padding = Int((bytes[offset + 2] >> 1) & 0x01)
            guard version != 1, layer == 1, rateIndex < 3, (1...14).contains(bitrateIndex) else {
                offset += 1
                continue
            }
            let mpeg1 = version == 3
            let bitrate = bitrates[mpeg1 ? 0 : 1][bitrateIndex] * 1000
            let sampleRate = sampleRates[mpeg1 ? 0 : version == 2 ? 1 : 2][rateIndex]
            let samples = mpeg1 ? 1152 : 576
            let length = samples / 8 * bitrate / sampleRate + padding
            guard length > 4 else { break }
            seconds += Double(samples) / Double(sampleRate)
            frames += 1
            offset += length
        }
        return frames > 0 ? seconds : nil
    }
}
