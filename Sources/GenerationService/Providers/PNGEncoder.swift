import CZlib
import ServiceKit

/// Writes RGB images as PNG files. The local provider's pictures go through `RunDeflate`
/// (runs of a repeated pixel as deflate matches, written from their spans: its flat pictures
/// shrink thirty times, for less CPU than copying their pixels); zlib, at its default level, deflates a marked copy of a provider's
/// picture, whose pixels seldom repeat.
enum PNGEncoder {
    /// `pixels` holds `width * height * 3` bytes, row by row, red-green-blue. `compressed` deflates
    /// them with zlib: for a marked copy of a provider's 1024×1024 picture, which has few runs.
    static func encode(width: Int, height: Int, pixels: [UInt8], compressed: Bool = false) -> [UInt8] {
        precondition(pixels.count == width * height * 3, "an RGB image has three bytes a pixel")
        // Each row starts with its filter byte (0: none); where zlib fails, the runs still serve.
        let data = compressed ? zlibDeflated(rows(width: width, height: height, pixels: pixels)) : nil
        return still(width: width, height: height, data: data ?? RunDeflate.rows(pixels, width: width, height: height))
    }

    /// A local picture, deflated from its spans.
    static func encode(_ canvas: SpanCanvas) -> [UInt8] {
        still(width: canvas.width, height: canvas.height, data: RunDeflate.spans(canvas))
    }

    private static func still(width: Int, height: Int, data: [UInt8]) -> [UInt8] {
        var png = start(width: width, height: height)
        chunk("IDAT", data, into: &png)
        chunk("IEND", [], into: &png)
        return png
    }

    /// The signature and the header: 8 bits a channel, truecolour, deflate, no filter set, no interlace.
    private static func start(width: Int, height: Int) -> [UInt8] {
        var png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        var header: [UInt8] = []
        header.appendBigEndian(UInt32(width))
        header.appendBigEndian(UInt32(height))
        header += [8, 2, 0, 0, 0]
        chunk("IHDR", header, into: &png)
        return png
    }

    /// An animated PNG (APNG): `frames` of the same size, `framesPerSecond` of them a second,
    /// repeating. Readers without APNG support show the first frame.
    static func encodeAnimation(frames: [SpanCanvas], framesPerSecond: Int) -> [UInt8] {
        guard let first = frames.first else { preconditionFailure("an animation has frames") }
        var png = start(width: first.width, height: first.height)
        var control: [UInt8] = []
        control.appendBigEndian(UInt32(frames.count))
        control.appendBigEndian(0)  // plays forever
        chunk("acTL", control, into: &png)
        var sequence: UInt32 = 0
        for (index, canvas) in frames.enumerated() {
            var frame: [UInt8] = []
            frame.appendBigEndian(sequence); sequence += 1
            frame.appendBigEndian(UInt32(canvas.width))
            frame.appendBigEndian(UInt32(canvas.height))
            frame.appendBigEndian(0)
            frame.appendBigEndian(0)
            frame += [0, 1, UInt8(framesPerSecond >> 8), UInt8(framesPerSecond & 0xFF), 0, 0]  // 1/fps s, dispose none, blend source
            chunk("fcTL", frame, into: &png)
            let data = RunDeflate.spans(canvas)
            if index == 0 {
                chunk("IDAT", data, into: &png)
            } else {
                var part: [UInt8] = []
                part.appendBigEndian(sequence); sequence += 1
                chunk("fdAT", part + data, into: &png)
            }
        }
        chunk("IEND", [], into: &png)
        return png
    }

    private static func rows(width: Int, height: Int, pixels: [UInt8]) -> [UInt8] {
        var raw: [UInt8] = []
        raw.reserveCapacity(height * (width * 3 + 1))
        for row in 0..<height {
            raw.append(0)
            raw += pixels[(row * width * 3)..<((row + 1) * width * 3)]
        }
        return raw
    }

    private static func chunk(_ type: String, _ data: [UInt8], into png: inout [UInt8]) {
        png.appendBigEndian(UInt32(data.count))
        let typed = Array(type.utf8) + data
        png += typed
        // zlib's CRC-32 (the one PNG uses) is several times faster than a table walk in Swift.
        let crc = typed.withUnsafeBufferPointer { crc32(0, $0.baseAddress, uInt($0.count)) }
        png.appendBigEndian(UInt32(truncatingIfNeeded: crc))
    }

    private static func zlibDeflated(_ data: [UInt8]) -> [UInt8]? {
        var length = compressBound(uLong(data.count))
        var out = [UInt8](repeating: 0, count: Int(length))
        let status = data.withUnsafeBufferPointer { input in
            out.withUnsafeMutableBufferPointer { buffer in compress2(buffer.baseAddress, &length, input.baseAddress, uLong(input.count), 6) }
        }
        guard status == Z_OK else { return nil }
        return Array(out.prefix(Int(length)))
    }
}

extension [UInt8] {
    mutating func appendBigEndian(_ value: UInt32) {
        append(contentsOf: [UInt8(value >> 24), UInt8((value >> 16) & 0xFF), UInt8((value >> 8) & 0xFF), UInt8(value & 0xFF)])
    }
}
