import Crypto
import Foundation

/// The local provider's pictures: real PNGs, the same for the same prompt and seed, different
/// for different ones, in the character's colours (skin, hair, eyes, clothing) when it names
/// them. A figure on a background whose hues, shapes and pose come from a hash of the prompt.
struct LocalImageRenderer: Sendable {
    static let width = 384, height = 512

    struct Picture: Sendable {
        let png: [UInt8]
        let width: Int
        let height: Int
    }

    /// The picture for `prompt` and `seed`; `palette` names colours ("auburn", "green"...).
    func render(prompt: String, seed: Int64, palette: Palette, watermark: Bool) -> Picture {
        var canvas = canvas(prompt: prompt, seed: seed, palette: palette, width: Self.width, height: Self.height, phase: 0)
        if watermark { Self.watermark(&canvas) }
        return Picture(png: PNGEncoder.encode(canvas), width: canvas.width, height: canvas.height)
    }

    /// The picture drawn once, and, for the Free plan, a marked copy of the same spans: the
    /// mark costs a second encoding, not reading a PNG back.
    func renderWithMark(prompt: String, seed: Int64, palette: Palette) -> (plain: Picture, marked: Picture) {
        var canvas = canvas(prompt: prompt, seed: seed, palette: palette, width: Self.width, height: Self.height, phase: 0)
        let plain = Picture(png: PNGEncoder.encode(canvas), width: canvas.width, height: canvas.height)
        Self.watermark(&canvas)
        return (plain, Picture(png: PNGEncoder.encode(canvas), width: canvas.width, height: canvas.height))
    }

    /// One picture as spans. `phase` (0 to 1) sways the figure, for the frames of a video.
    func canvas(prompt: String, seed: Int64, palette: Palette, width w: Int, height h: Int, phase: Double) -> SpanCanvas {
        var random = SeededRandom(prompt: prompt, seed: seed)
        let top = random.color(), bottom = random.color()
        var canvas = SpanCanvas(width: w, height: h) { y in top.mixed(with: bottom, Double(y) / Double(max(h - 1, 1))) }
        // Everything below is laid out on a 384×512 canvas and scaled to the size asked for.
        func sx(_ v: Int) -> Int { v * w / 384 }
        func sy(_ v: Int) -> Int { v * h / 512 }
        // Shapes of the scene behind the figure.
        for _ in 0..<(3 + random.next(4)) {
            let color = random.color()
            let (cx, cy, r) = (random.next(384), random.next(256), 20 + random.next(60))
            canvas.fillCircle(cx: sx(cx), cy: sy(cy), r: sx(r), color: color)
        }
        // The figure: body, head, hair, eyes; the pose leans it, a video sways it.
        let lean = random.next(41) - 20 + Int(18 * sin(phase * 2 * .pi))
        let skin = palette.skin ?? RGB(224, 172, 138), hair = palette.hair ?? random.color(), eyes = palette.eyes ?? RGB(70, 90, 120)
        let clothing = palette.clothing ?? random.color()
        let mid = 192
        canvas.fillRect(x0: sx(mid - 70 + lean), y0: sy(300), x1: sx(mid + 70 + lean), y1: h, color: clothing)
        canvas.fillCircle(cx: sx(mid + lean / 2), cy: sy(210), r: sx(80), color: skin)
        canvas.fillRect(x0: sx(mid - 84 + lean / 2), y0: sy(120), x1: sx(mid + 84 + lean / 2), y1: sy(175), color: hair)
        canvas.fillCircle(cx: sx(mid - 28 + lean / 2), cy: sy(205), r: max(1, sx(10)), color: eyes)
        canvas.fillCircle(cx: sx(mid + 28 + lean / 2), cy: sy(205), r: max(1, sx(10)), color: eyes)
        return canvas
    }

    /// Free plan pictures: a light diagonal band of stripes across the whole image, so the mark
    /// cannot be cropped off. Pixel (x, y) is marked when (x + y) % 48 < 6 and it lies within 90
    /// of the diagonal: in row `y`, `body` gets each stripe, six pixels wide at most.
    static func markedParts(row y: Int, w: Int, h: Int, _ body: (Range<Int>) -> Void) {
        let diagonal = y * w / h
        let (from, to) = (max(0, diagonal - 89), min(w, diagonal + 90))
        guard from < to else { return }
        // Stripes start where (x + y) % 48 is 0.
        var stripe = from - (from + y) % 48
        while stripe < to {
            let (start, end) = (max(stripe, from), min(stripe + 6, to))
            if start < end { body(start..<end) }  // the first stripe may end before the band begins
            stripe += 48
        }
    }

    /// The mark on any picture's pixels (a provider's, read back)...
    static func watermark(_ pixels: inout [UInt8], w: Int, h: Int) {
        for y in 0..<h {
            markedParts(row: y, w: w, h: h) { part in
                for i in ((y * w + part.lowerBound) * 3)..<((y * w + part.upperBound) * 3) { pixels[i] = RGB.lightened(pixels[i]) }
            }
        }
    }

    /// ...and on a local picture's spans.
    static func watermark(_ canvas: inout SpanCanvas) {
        for y in 0..<canvas.height {
            markedParts(row: y, w: canvas.width, h: canvas.height) { part in canvas.lighten(row: y, part.lowerBound, part.upperBound) }
        }
    }
}

/// Colours a character names, where the renderer knows the word.
struct Palette: Sendable {
    var skin, hair, eyes, clothing: RGB?

    init(skin: String?, hair: String?, eyes: String?, clothing: String?) {
        self.skin = skin.flatMap(RGB.named)
        self.hair = hair.flatMap(RGB.named)
        self.eyes = eyes.flatMap(RGB.named)
        self.clothing = clothing.flatMap(RGB.named)
    }
}

struct RGB: Sendable, Equatable {
    let r, g, b: UInt8

    init(_ r: UInt8, _ g: UInt8, _ b: UInt8) { (self.r, self.g, self.b) = (r, g, b) }

    func mixed(with other: RGB, _ t: Double) -> RGB {
        func mix(_ a: UInt8, _ b: UInt8) -> UInt8 { UInt8(Double(a) * (1 - t) + Double(b) * t) }
        return RGB(mix(r, other.r), mix(g, other.g), mix(b, other.b))
    }

    /// The first colour word in `text` ("long auburn hair" is auburn).
    static func named(_ text: String) -> RGB? {
        for word in text.lowercased().split(whereSeparator: { !$0.isLetter }) {
            if let color = names[String(word)] { return color }
        }
        return nil
    }

    static let names: [String: RGB] = [
        "black": RGB(25, 25, 28), "white": RGB(240, 240, 236), "grey": RGB(128, 128, 128), "gray": RGB(128, 128, 128),
        "silver": RGB(192, 192, 200), "blonde": RGB(240, 214, 120), "blond": RGB(240, 214, 120), "golden": RGB(218, 165, 32),
        "brown": RGB(110, 70, 40), "auburn": RGB(145, 55, 30), "red": RGB(200, 40, 40), "ginger": RGB(200, 100, 40),
        "orange": RGB(240, 140, 30), "yellow": RGB(245, 220, 50), "green": RGB(50, 150, 70), "blue": RGB(50, 90, 200),
        "hazel": RGB(140, 110, 60), "amber": RGB(255, 190, 0), "purple": RGB(130, 60, 170), "violet": RGB(140, 80, 200),
        "pink": RGB(240, 130, 170), "teal": RGB(30, 140, 140), "fair": RGB(250, 220, 200), "pale": RGB(245, 225, 215),
        "light": RGB(240, 205, 180), "olive": RGB(190, 150, 100), "tan": RGB(200, 150, 110), "medium": RGB(200, 150, 110),
        "dark": RGB(110, 70, 50), "deep": RGB(80, 50, 35),
    ]
}

/// A small generator seeded from SHA-256 of the prompt and seed, so pictures repeat exactly.
struct SeededRandom {
    private var state: UInt64

    init(prompt: String, seed: Int64) {
        let digest = SHA256.hash(data: Data("\(seed)\u{0}\(prompt)".utf8))
        state = digest.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) } | 1
    }

    /// 0 ..< bound.
    mutating func next(_ bound: Int) -> Int {
        // xorshift64*
        state ^= state >> 12; state ^= state << 25; state ^= state >> 27
        return Int((state &* 2_685_821_657_736_338_717) >> 33) % max(bound, 1)
    }

    mutating func color() -> RGB { RGB(UInt8(next(256)), UInt8(next(256)), UInt8(next(256))) }
}
