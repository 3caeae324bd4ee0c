import CZlib

/// Reads the PNGs outside providers send, to RGB pixels: 8-bit greyscale, RGB, palette,
/// greyscale-alpha and RGBA, not interlaced (what SDXL and Gemini write). Alpha is dropped.
/// Used to draw the Free plan's mark on a provider's picture; `maxPixels` refuses a file that
/// would take more memory than any picture we ask for.
enum PNGDecoder {
    struct Image: Sendable {
        let width: Int
        let height: Int
        let rgb: [UInt8]
    }

    struct Unreadable: Error, CustomStringConvertible {
        let description: String
    }

    static let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

    static func isPNG(_ bytes: [UInt8]) -> Bool { bytes.starts(with: signature) }

    /// Width and height from the header, without reading the pixels.
    static func size(_ bytes: [UInt8]) -> (width: Int, height: Int)? {
        guard isPNG(bytes), bytes.count >= 24, bytes[12..<16].elementsEqual(Array("IHDR".utf8)) else { return nil }
        return (Int(bigEndian: bytes, at: 16), Int(bigEndian: bytes, at: 20))
    }

    static func decode(_ bytes: [UInt8], maxPixels: Int = 4096 * 4096) throws -> Image {
        guard isPNG(bytes) else { throw Unreadable(description: "not a PNG file") }
        var offset = 8
        var width = 0, height = 0, colourType = -1
        var palette: [UInt8] = []
        var compressed: [UInt8] = []
        while offset + 8 <= bytes.count {
            let length = Int(bigEndian: bytes, at: offset)
            let type = String(decoding: bytes[(offset + 4)..<(offset + 8)], as: UTF8.self)
            let start = offset + 8
            guard length >= 0, start + length + 4 <= bytes.count else { throw Unreadable(description: "a chunk runs past the end of the file") }
            let data = bytes[start..<(start + length)]
            switch type {
            case "IHDR":
                guard length == 13 else { throw Unreadable(description: "a malformed header") }
                width = Int(bigEndian: bytes, at: start)
                height = Int(bigEndian: bytes, at: start + 4)
                let depth = bytes[start + 8], interlace = bytes[start + 12]
                colourType = Int(bytes[start + 9])
                guard depth == 8, interlace == 0, [0, 2, 3, 4, 6].contains(colourType) else {
                    throw Unreadable(description: "an 8-bit, non-interlaced PNG was expected")
                }
                guard width > 0, height > 0, width * height <= maxPixels else { throw Unreadable(description: "a picture of \(width)×\(height) is too large") }
            case "PLTE": palette = Array(data)
            case "IDAT": compressed += data
            case "IEND": offset = bytes.count
            default: break
            }
            offset = start + length + 4
        }
        guard colourType >= 0 else { throw Unreadable(description: "the header is missing") }
        let channels = [0: 1, 2: 3, 3: 1, 4: 2, 6: 4][colourType] ?? 3
        let stride = width * channels
        let raw = try inflate(compressed, expected: height * (stride + 1))
        let rows = try unfilter(raw, height: height, stride: stride, bytesPerPixel: channels)
        var rgb = [UInt8](repeating: 0, count: width * height * 3)
        for pixel in 0..<(width * height) {
            let source = pixel * channels, target = pixel * 3
            switch colourType {
            case 0, 4:
                rgb[target] = rows[source]; rgb[target + 1] = rows[source]; rgb[target + 2] = rows[source]
            case 3:
                let entry = Int(rows[source]) * 3
                guard entry + 2 < palette.count else { throw Unreadable(description: "a palette index is out of range") }
                rgb[target] = palette[entry]; rgb[target + 1] = palette[entry + 1]; rgb[target + 2] = palette[entry + 2]
            default:
                rgb[target] = rows[source]; rgb[target + 1] = rows[source + 1]; rgb[target + 2] = rows[source + 2]
            }
        }
        return Image(width: width, height: height, rgb: rgb)
    }

    private static func inflate(_ data: [UInt8], expected: Int) throws -> [UInt8] {
        var output = [UInt8](repeating: 0, count: expected)
        var length = uLongf(expected)
        let status = data.withUnsafeBufferPointer { input in
            output.withUnsafeMutableBufferPointer { out in
                uncompress(out.baseAddress, &length, input.baseAddress, uLong(input.count))
            }
        }
        guard status == Z_OK, Int(length) == expected else { throw Unreadable(description: "the pixel data is damaged") }
        return output
    }

    /// Undoes the per-row filters (none, sub, up, average, Paeth); returns the rows without
    /// their filter bytes.
    private static func unfilter(_ raw: [UInt8], height: Int, stride: Int, bytesPerPixel bpp: Int) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: height * stride)
        for row in 0..<height {
            let filter = raw[row * (stride + 1)]
            let input = row * (stride + 1) + 1, base = row * stride
            for i in 0..<stride {
                let x = raw[input + i]
                let a = i >= bpp ? Int(out[base + i - bpp]) : 0
                let b = row > 0 ? Int(out[base - stride + i]) : 0
                let c = row > 0 && i >= bpp ? Int(out[base - stride + i - bpp]) : 0
                let predicted: Int
                switch filter {
                case 0: predicted = 0
                case 1: predicted = a
                case 2: predicted = b
                case 3: predicted = (a + b) / 2
                case 4:
                    let p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c)
                    predicted = pa <= pb && pa <= pc ? a : pb <= pc ? b : c
                default: throw Unreadable(description: "an unknown row filter \(filter)")
                }
                out[base + i] = x &+ UInt8(truncatingIfNeeded: predicted)
            }
        }
        return out
    }
}

extension Int {
    init(bigEndian bytes: [UInt8], at offset: Int) {
        self = Int(bytes[offset]) << 24 | Int(bytes[offset + 1]) << 16 | Int(bytes[offset + 2]) << 8 | Int(bytes[offset + 3])
    }
}
