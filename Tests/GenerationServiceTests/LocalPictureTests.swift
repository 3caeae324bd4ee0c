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

    /// The raw bytes of a zlib stream of stored blocks, its Adler-32 checked.
    static func inflateStored(_ zlib: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        var offset = 2
        while true {
            let last = zlib[offset] & 1
            let length = Int(zlib[offset + 1]) | Int(zlib[offset + 2]) << 8
            out += zlib[(offset + 5)..<(offset + 5 + length)]
            offset += 5 + length
            if last == 1 { break }
        }
        var a: UInt32 = 1, b: UInt32 = 0
        for byte in out { a = (a + UInt32(byte)) % 65_521; b = (b + a) % 65_521 }
        let adler = UInt32(zlib[offset]) << 24 | UInt32(zlib[offset + 1]) << 16 | UInt32(zlib[offset + 2]) << 8 | UInt32(zlib[offset + 3])
        #expect(adler == (b << 16) | a)
        return out
    }

    @Test("a PNG's chunks, CRCs and pixel rows are valid")
    func validPNG() throws {
        let pixels: [UInt8] = [255, 0, 0, 0, 255, 0, 0, 0, 255, 9, 9, 9, 1, 2, 3, 4, 5, 6]
        let chunks = try Self.chunks(PNGEncoder.encode(width: 3, height: 2, pixels: pixels))
        #expect(chunks.map(\.type) == ["IHDR", "IDAT", "IEND"])
        #expect(chunks[0].data == [0, 0, 0, 3, 0, 0, 0, 2, 8, 2, 0, 0, 0])
        var rows: [UInt8] = [0]
        rows += pixels[0..<9]
        rows.append(0)
        rows += pixels[9..<18]
        #expect(Self.inflateStored(chunks[1].data) == rows)
    }

    @Test("an animation has one frame control per frame and plays at its rate")
    func validAnimation() throws {
        let frame = [UInt8](repeating: 7, count: 2 * 2 * 3)
        let chunks = try Self.chunks(PNGEncoder.encodeAnimation(width: 2, height: 2, frames: [frame, frame, frame], framesPerSecond: 6))
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
        let pixels = renderer.draw(prompt: "Aria waving", seed: 7, palette: palette, width: 384, height: 512, phase: 0)
        let auburn = RGB.names["auburn"]!, green = RGB.names["green"]!
        func has(_ c: RGB) -> Bool { stride(from: 0, to: pixels.count, by: 3).contains { pixels[$0] == c.r && pixels[$0 + 1] == c.g && pixels[$0 + 2] == c.b } }
        #expect(has(auburn) && has(green))
    }
}
