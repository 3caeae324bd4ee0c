import CZlib
import Testing
import ServiceKit
@testable import GenerationService

/// Reading providers' PNGs: every row filter, the colour types providers write, and damaged
/// files refused with an error rather than a crash.
@Suite("Reading a provider's PNG")
struct PNGDecoderTests {
    /// A PNG of `rows` (each starting with its filter byte), deflated as providers do.
    static func png(width: Int, height: Int, colourType: UInt8, rows: [UInt8], palette: [UInt8]? = nil) -> [UInt8] {
        func chunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
            var out: [UInt8] = []
            out.appendBigEndian(UInt32(data.count))
            let typed = Array(type.utf8) + data
            out += typed
            out.appendBigEndian(CRC32.checksum(typed))
            return out
        }
        var header: [UInt8] = []
        header.appendBigEndian(UInt32(width))
        header.appendBigEndian(UInt32(height))
        header += [8, colourType, 0, 0, 0]
        var length = compressBound(uLong(rows.count))
        var deflated = [UInt8](repeating: 0, count: Int(length))
        _ = deflated.withUnsafeMutableBufferPointer { out in rows.withUnsafeBufferPointer { compress(out.baseAddress, &length, $0.baseAddress, uLong(rows.count)) } }
        return PNGDecoder.signature + chunk("IHDR", header) + (palette.map { chunk("PLTE", $0) } ?? [])
            + chunk("IDAT", Array(deflated.prefix(Int(length)))) + chunk("IEND", [])
    }

    @Test("sub, up, average and Paeth rows of an RGBA picture decode to the pixels they encode")
    func filters() throws {
        // Two pixels a row, RGBA: row 0 with Sub, row 1 Up, row 2 Average, row 3 Paeth.
        let pixels: [[UInt8]] = [[10, 20, 30, 255, 15, 25, 35, 255], [12, 22, 32, 255, 40, 50, 60, 255],
                                 [100, 90, 80, 255, 0, 0, 0, 255], [200, 201, 202, 255, 7, 8, 9, 255]]
        var rows: [UInt8] = []
        for (y, row) in pixels.enumerated() {
            let filter = UInt8(y + 1)
            rows.append(filter)
            for i in 0..<row.count {
                let a = i >= 4 ? Int(row[i - 4]) : 0, b = y > 0 ? Int(pixels[y - 1][i]) : 0, c = y > 0 && i >= 4 ? Int(pixels[y - 1][i - 4]) : 0
                let predicted: Int
                switch filter {
                case 1: predicted = a
                case 2: predicted = b
                case 3: predicted = (a + b) / 2
                default:
                    let p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c)
                    predicted = pa <= pb && pa <= pc ? a : pb <= pc ? b : c
                }
                rows.append(row[i] &- UInt8(truncatingIfNeeded: predicted))
            }
        }
        let image = try PNGDecoder.decode(Self.png(width: 2, height: 4, colourType: 6, rows: rows))
        #expect(image.width == 2 && image.height == 4)
        let expected = pixels.flatMap { row in [row[0], row[1], row[2], row[4], row[5], row[6]] }
        #expect(image.rgb == expected)
    }

    @Test("palette and greyscale pictures become RGB")
    func colourTypes() throws {
        let palette = try PNGDecoder.decode(Self.png(width: 2, height: 1, colourType: 3, rows: [0, 1, 0], palette: [255, 0, 0, 0, 0, 255]))
        #expect(palette.rgb == [0, 0, 255, 255, 0, 0])
        let grey = try PNGDecoder.decode(Self.png(width: 2, height: 1, colourType: 0, rows: [0, 9, 200]))
        #expect(grey.rgb == [9, 9, 9, 200, 200, 200])
    }

    @Test("truncated, damaged, oversized and non-PNG files are refused, never a crash")
    func damaged() {
        let good = Self.png(width: 2, height: 1, colourType: 2, rows: [0, 1, 2, 3, 4, 5, 6])
        #expect(throws: PNGDecoder.Unreadable.self) { try PNGDecoder.decode(Array(good.prefix(good.count - 20))) }
        var corrupt = good
        corrupt[45] ^= 0xFF
        #expect(throws: PNGDecoder.Unreadable.self) { try PNGDecoder.decode(corrupt) }
        #expect(throws: PNGDecoder.Unreadable.self) { try PNGDecoder.decode(Array("GIF89a".utf8)) }
        #expect(throws: PNGDecoder.Unreadable.self) { try PNGDecoder.decode(good, maxPixels: 1) }
        #expect(PNGDecoder.size(good)! == (2, 1))
    }
}
