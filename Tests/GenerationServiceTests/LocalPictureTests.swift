import Foundation
import Testing
import ServiceKit
@testable import GenerationService

/// The local provider's files are real: PNG chunks with valid CRCs around a zlib stream whose
/// Adler-32 checks, pictures that repeat for the same prompt and seed, differ for another
/// prompt, and show the character's colours.
@Suite("The local provider's pictures")
struct LocalPictureTests {
    /// The chunks of a PNG, each checked against its CRC.
    static func chunks(_ png: [UInt8]) throws -> [(type: String, data: [UInt8])] {
        #expect(Array(png.prefix(8)) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        var chunks: [(String, [UInt8])] = []
        var offset = 8
        func u32(_ at: Int) -> Int { Int(png[at]) << 24 | Int(png[at + 1]) << 16 | Int(png[at + 2]) << 8 | Int(png[at + 3]) }
        while offset < png.count {
            let length = u32(offset)
            let typed = Array(png[(offset + 4)..<(offset + 8 + length)])
            #expect(UInt32(u32(offset + 8 + length)) == CRC32.checksum(typed), "CRC of \(String(decoding: typed.prefix(4), as: UTF8.self))")
            chunks.append((String(decoding: typed.prefix(4), as: UTF8.self), Array(typed.dropFirst(4))))
            offset += 12 + length
        }
        return chunks
    }

    @Test("a PNG's chunks, CRCs and pixel rows are valid, runs of a pixel included")
    func validPNG() throws {
        // Rows of 300 pixels: a run longer than one deflate match (258 bytes), runs that end a
        // row, single pixels, and every byte value (literals of eight and of nine bits).
        let width = 300, height = 4
        var pixels: [UInt8] = []
        for _ in 0..<width { pixels += [200, 10, 99] }
        for x in 0..<width { pixels += x % 2 == 0 ? [UInt8(x % 256), UInt8(255 - x % 256), 7] : [1, 2, 3] }
        for x in 0..<width { pixels += x < 100 ? [5, 5, 5] : x < 297 ? [144, 143, 255] : [0, 0, 0] }
        for x in 0..<width { pixels += [UInt8(x % 256), UInt8((x * 7) % 256), UInt8((x * 13) % 256)] }
        let png = PNGEncoder.encode(width: width, height: height, pixels: pixels)
        let chunks = try Self.chunks(png)
        #expect(chunks.map(\.type) == ["IHDR", "IDAT", "IEND"])
        #expect(chunks[0].data == [0, 0, 1, 44, 0, 0, 0, 4, 8, 2, 0, 0, 0])
        // zlib's inflate (which checks the Adler-32) reads back exactly the pixels.
        let decoded = try PNGDecoder.decode(png)
        #expect(decoded.width == width && decoded.height == height)
        #expect(decoded.rgb == pixels)
    }

    @Test("a local picture is its pixels in a few kilobytes")
    func smallPicture() throws {
        let renderer = LocalImageRenderer()
        let palette = Palette(skin: "fair", hair: "auburn hair", eyes: "green", clothing: nil)
        let (plain, marked) = renderer.renderWithMark(prompt: "Aria waving", seed: 7, palette: palette)
        var pixels = renderer.canvas(prompt: "Aria waving", seed: 7, palette: palette, width: 384, height: 512, phase: 0).pixels
        #expect(try PNGDecoder.decode(plain.png).rgb == pixels)
        LocalImageRenderer.watermark(&pixels, w: 384, h: 512)
        #expect(try PNGDecoder.decode(marked.png).rgb == pixels)
        #expect(plain.png.count < 64 << 10, "590 KB of pixels, \(plain.png.count) bytes")
    }

    @Test("spans paint, mark and deflate as the same shapes drawn pixel by pixel would")
    func spansMatchPixels() throws {
        // Rows of 300 pixels (a run longer than one deflate match), shapes that leave the canvas
        // on every side, single-pixel spans, and marks over the edges of spans.
        let (width, height) = (300, 40)
        var canvas = SpanCanvas(width: width, height: height) { y in RGB(UInt8(y * 6), 200, UInt8(255 - y)) }
        var pixels: [UInt8] = []
        for y in 0..<height { for _ in 0..<width { pixels += [UInt8(y * 6), 200, UInt8(255 - y)] } }
        func paint(_ x: Int, _ y: Int, _ color: (RGB) -> RGB) {
            guard x >= 0, x < width, y >= 0, y < height else { return }
            let i = (y * width + x) * 3
            let c = color(RGB(pixels[i], pixels[i + 1], pixels[i + 2]))
            (pixels[i], pixels[i + 1], pixels[i + 2]) = (c.r, c.g, c.b)
        }
        var random = SeededRandom(prompt: "spans", seed: 1)
        for _ in 0..<400 {
            let color = random.color()
            let (x, y, size) = (random.next(340) - 20, random.next(60) - 10, random.next(30))
            switch random.next(3) {
            case 0:
                canvas.fillRect(x0: x, y0: y, x1: x + size, y1: y + size / 3 + 1, color: color)
                for py in y..<(y + size / 3 + 1) { for px in x..<(x + size) { paint(px, py) { _ in color } } }
            case 1:
                canvas.fillCircle(cx: x, cy: y, r: size / 2, color: color)
                let r = size / 2
                for py in (y - r)...(y + r) {
                    for px in (x - r)...(x + r) where (px - x) * (px - x) + (py - y) * (py - y) <= r * r { paint(px, py) { _ in color } }
                }
            default:
                canvas.lighten(row: y, x, x + size)
                for px in x..<(x + size) { paint(px, y) { $0.lightened } }
            }
        }
        #expect(canvas.pixels == pixels)
        // zlib's inflate checks the span-summed Adler-32.
        #expect(try PNGDecoder.decode(PNGEncoder.encode(canvas)).rgb == pixels)
        #expect((0...10_000).allSatisfy { n in SpanCanvas.squareRoot(n) * SpanCanvas.squareRoot(n) <= n && (SpanCanvas.squareRoot(n) + 1) * (SpanCanvas.squareRoot(n) + 1) > n })
    }

    @Test("an animation has one frame control per frame and plays at its rate")
    func validAnimation() throws {
        let frame = SpanCanvas(width: 2, height: 2) { _ in RGB(7, 7, 7) }
        let chunks = try Self.chunks(PNGEncoder.encodeAnimation(frames: [frame, frame, frame], framesPerSecond: 6))
        #expect(chunks.map(\.type) == ["IHDR", "acTL", "fcTL", "IDAT", "fcTL", "fdAT", "fcTL", "fdAT", "IEND"])
        #expect(chunks[1].data == [0, 0, 0, 3, 0, 0, 0, 0])
        #expect(Array(chunks[2].data[20..<24]) == [0, 1, 0, 6], "each frame lasts 1/6 s")
    }

    @Test("the same prompt and seed repeat, another prompt differs, the character's colours show")
    func deterministic() {
        let renderer = LocalImageRenderer()
        let palette = Palette(skin: "fair", hair: "auburn hair", eyes: "green", clothing: nil)
        let one = renderer.render(prompt: "Aria waving", seed: 7, palette: palette, watermark: false).png
        #expect(one == renderer.render(prompt: "Aria waving", seed: 7, palette: palette, watermark: false).png)
        #expect(one != renderer.render(prompt: "Aria sitting", seed: 7, palette: palette, watermark: false).png)
        #expect(one != renderer.render(prompt: "Aria waving", seed: 8, palette: palette, watermark: false).png)
        #expect(one != renderer.render(prompt: "Aria waving", seed: 7, palette: palette, watermark: true).png, "the mark shows")
        let pixels = renderer.canvas(prompt: "Aria waving", seed: 7, palette: palette, width: 384, height: 512, phase: 0).pixels
        let auburn = RGB.names["auburn"]!, green = RGB.names["green"]!
        func has(_ c: RGB) -> Bool { stride(from: 0, to: pixels.count, by: 3).contains { pixels[$0] == c.r && pixels[$0 + 1] == c.g && pixels[$0 + 2] == c.b } }
        #expect(has(auburn) && has(green))
    }
}
