import CZlib

/// A zlib stream of PNG rows (filter byte 0, then RGB pixels) whose only matches are runs of
/// one pixel repeated: one deflate block with the fixed Huffman codes (RFC 1951, 3.2.6), each run
/// a match three bytes back (a pixel's length). The local provider's pictures are flat shapes on rows of one colour,
/// so a 384×512 picture (590 KB of pixels) comes to some 20 KB, in one pass over the pixels with
/// no search: about the CPU of copying them into stored blocks, a tenth of zlib's level 1, and
/// thirty times fewer bytes to write and serve.
enum RunDeflate {
    static func rows(_ pixels: [UInt8], width: Int, height: Int) -> [UInt8] {
        let stride = width * 3
        var bits = BitWriter(capacity: height * 64 + 64)
        bits.put(0b011, count: 3)  // the last block, fixed codes
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
                    var run = end - at
                    if run < 3 {
                        bits.literal(start[at])
                        at += 1
                        continue
                    }
                    at = end
                    while run >= 3 {
                        // A match is 3 to 258 bytes; a piece never leaves 1 or 2 behind it.
                        let piece = run > 258 ? (run - 258 >= 3 ? 258 : run - 3) : run
                        bits.match(piece)
                        run -= piece
                    }
                }
            }
        }
        bits.put(0, count: 7)  // end of block: code 256 is seven zero bits
        var out: [UInt8] = [0x78, 0x01]
        out += bits.finished()
        out.appendBigEndian(UInt32(truncatingIfNeeded: adler))
        return out
    }

    /// Deflate's bit order: values fill each byte from its least significant bit; Huffman codes
    /// go in most significant bit first, so the tables below hold them reversed.
    private struct BitWriter {
        var bytes: [UInt8]
        var buffer: UInt64 = 0
        var count = 0

        init(capacity: Int) {
            bytes = []
            bytes.reserveCapacity(capacity)
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
