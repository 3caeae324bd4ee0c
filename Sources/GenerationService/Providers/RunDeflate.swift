import CZlib

/// A zlib stream of PNG rows (filter byte 0, then RGB pixels) whose only matches are runs of
/// one pixel repeated: one deflate block with the fixed Huffman codes (RFC 1951, 3.2.6), each run
/// a match three bytes back (a pixel's length). The local provider's pictures are flat shapes on rows of one colour,
/// so a 384×512 picture (590 KB of pixels) comes to some 20 KB with no search: from pixels in one
/// pass over them (about the CPU of copying them into stored blocks, a tenth of zlib's level 1),
/// and from a `SpanCanvas` in one step a span, never touching a pixel.
enum RunDeflate {
    static func rows(_ pixels: [UInt8], width: Int, height: Int) -> [UInt8] {
        let stride = width * 3
        var bits = BitWriter(rows: height)
        var adler: uLong = 1
        let filter: [UInt8] = [0]
        pixels.withUnsafeBufferPointer { pixels in
            guard let base = pixels.baseAddress else { return }
            for row in 0..<height {
                let start = base + row * stride
                bits.literal(0)
                adler = filter.withUnsafeBufferPointer { adler32(adler, $0.baseAddress, 1) }
                adler = adler32(adler, start, uInt(stride))
                // The row's first pixel is literals; from then on, a byte equal to the one three
                // back continues a run (of a repeated pixel), and a run of three bytes or more is
                // a match. A run is measured eight bytes at a time.
                var at = 0
                while at < min(3, stride) { bits.literal(start[at]); at += 1 }
                while at < stride {
                    var end = at
                    while end + 8 <= stride, UnsafeRawPointer(start + end).loadUnaligned(as: UInt64.self)
                            == UnsafeRawPointer(start + end - 3).loadUnaligned(as: UInt64.self) {
                        end += 8
                    }
                    while end < stride, start[end] == start[end - 3] { end += 1 }
                    let run = end - at
                    if run < 3 {
                        bits.literal(start[at])
                        at += 1
                        continue
                    }
                    at = end
                    bits.run(run)
                }
            }
        }
        return finished(&bits, adler: UInt32(truncatingIfNeeded: adler))
    }

    /// The same stream from a canvas's spans, without its pixels: each span is its first pixel as
    /// literals and a run of the rest, and the Adler-32 of a span is summed in closed form.
    static func spans(_ canvas: SpanCanvas) -> [UInt8] {
        var bits = BitWriter(rows: canvas.height)
        var adler = SpanAdler()
        for row in canvas.rows {
            bits.literal(0)
            adler.add(filterByte: 0)
            var start = 0
            for span in row {
                bits.literal(span.color.r); bits.literal(span.color.g); bits.literal(span.color.b)
                bits.run(3 * (span.end - start - 1))
                adler.add(span.color, times: span.end - start)
                start = span.end
            }
            adler.endRow()
        }
        return finished(&bits, adler: adler.value)
    }

    private static func finished(_ bits: inout BitWriter, adler: UInt32) -> [UInt8] {
        bits.put(0, count: 7)  // end of block: code 256 is seven zero bits
        var out: [UInt8] = [0x78, 0x01]
        out += bits.finished()
        out.appendBigEndian(adler)
        return out
    }

    /// Adler-32 (RFC 1950) of pixels given as a colour and a count. After a pixel (r, g, b) the
    /// first sum grows by s = r + g + b and the second by 3a + 3r + 2g + b, where a is the first
    /// sum before it; over n pixels that adds n·s to the first and 3(n·a + s·n(n-1)/2) + n(3r + 2g + b)
    /// to the second. The sums are reduced once a row (`endRow`): a row of a few thousand pixels
    /// adds far less than 64 bits hold.
    private struct SpanAdler {
        private static let modulus: UInt64 = 65_521
        private var a: UInt64 = 1
        private var b: UInt64 = 0

        mutating func add(filterByte byte: UInt8) {
            a += UInt64(byte)
            b += a
        }

        mutating func add(_ color: RGB, times count: Int) {
            let (n, r, g, blue) = (UInt64(count), UInt64(color.r), UInt64(color.g), UInt64(color.b))
            let s = r + g + blue
            b += 3 * (n * a + s * (n * (n - 1) / 2)) + n * (3 * r + 2 * g + blue)
            a += n * s
        }

        mutating func endRow() {
            a %= Self.modulus
            b %= Self.modulus
        }

        var value: UInt32 { UInt32((b % Self.modulus) << 16 | (a % Self.modulus)) }
    }

    /// Deflate's bit order: values fill each byte from its least significant bit; Huffman codes
    /// go in most significant bit first, so the tables below hold them reversed.
    private struct BitWriter {
        var bytes: [UInt8]
        var buffer: UInt64 = 0
        var count = 0

        /// Room for `rows` rows of a flat picture, and the stream's one block begun: the last
        /// block, with the fixed codes.
        init(rows: Int) {
            bytes = []
            bytes.reserveCapacity(rows * 64 + 64)
            put(0b011, count: 3)
        }

        mutating func put(_ value: UInt32, count bitCount: Int) {
            buffer |= UInt64(value) << UInt64(count)
            count += bitCount
            while count >= 8 {
                bytes.append(UInt8(truncatingIfNeeded: buffer))
                buffer >>= 8
                count -= 8
            }
        }

        mutating func literal(_ byte: UInt8) {
            let code = Codes.literals[Int(byte)]
            put(code.bits, count: code.count)
        }

        /// `length` bytes (none, or three or more) that repeat the three before them, as matches.
        mutating func run(_ length: Int) {
            var run = length
            while run >= 3 {
                // A match is 3 to 258 bytes; a piece never leaves 1 or 2 behind it.
                let piece = run > 258 ? (run - 258 >= 3 ? 258 : run - 3) : run
                match(piece)
                run -= piece
            }
        }

        /// A match of 3 to 258 bytes, three back.
        mutating func match(_ length: Int) {
            let code = Codes.lengths[length]
            put(code.bits, count: code.count)
            put(Codes.distanceThree, count: 5)
        }

        mutating func finished() -> [UInt8] {
            if count > 0 { bytes.append(UInt8(truncatingIfNeeded: buffer)) }
            return bytes
        }
    }

    /// The fixed codes, reversed for `BitWriter`, with their extra bits folded in.
    private enum Codes {
        static let literals: [(bits: UInt32, count: Int)] = (0..<256).map { byte in
            byte < 144 ? (reversed(0x30 + UInt32(byte), 8), 8) : (reversed(0x190 + UInt32(byte - 144), 9), 9)
        }

        /// Match lengths 3 to 258: the length symbol's code, then its extra bits.
        static let lengths: [(bits: UInt32, count: Int)] = (0...258).map { length in
            guard length >= 3 else { return (0, 0) }
            let (symbol, base, extra) = lengthSymbol(length)
            let code = symbol < 280 ? (reversed(UInt32(symbol - 256), 7), 7) : (reversed(0xC0 + UInt32(symbol - 280), 8), 8)
            return (code.0 | UInt32(length - base) << UInt32(code.1), code.1 + extra)
        }

        /// Distance 3 is distance code 2, five bits, no extra bits.
        static let distanceThree = reversed(2, 5)

        static func lengthSymbol(_ length: Int) -> (symbol: Int, base: Int, extra: Int) {
            if length == 258 { return (285, 258, 0) }
            if length < 11 { return (257 + length - 3, length, 0) }
            // Symbols 265 on come four to each count of extra bits, 1 to 5.
            var (symbol, base, extra) = (265, 11, 1)
            while length >= base + 4 << extra {
                base += 4 << extra
                symbol += 4
                extra += 1
            }
            let step = 1 << extra
            let index = (length - base) / step
            return (symbol + index, base + index * step, extra)
        }

        static func reversed(_ code: UInt32, _ count: Int) -> UInt32 {
            var (value, out) = (code, UInt32(0))
            for _ in 0..<count {
                out = out << 1 | (value & 1)
                value >>= 1
            }
            return out
        }
    }
}
