/// A picture as rows of spans of one colour, for the local provider: its pictures are flat shapes
/// on rows of one colour, so a 384×512 picture is a few thousand spans, not 196,608 pixels. It is
/// painted, marked and deflated span by span (`RunDeflate.spans`), and only tests and callers that
/// need pixels ask for them.
struct SpanCanvas: Sendable {
    /// One run of a colour in a row, up to (not including) `end`; the spans of a row cover it in order.
    struct Span: Sendable, Equatable {
        var end: Int
        var color: RGB
    }

    let width: Int
    let height: Int
    private(set) var rows: [[Span]]

    /// A canvas whose row `y` is `color(y)` from edge to edge.
    init(width: Int, height: Int, color: (Int) -> RGB) {
        precondition(width > 0 && width <= 1 << 16 && height > 0, "a canvas has pixels, rows short enough for RunDeflate's sums")
        self.width = width
        self.height = height
        rows = (0..<height).map { [Span(end: width, color: color($0))] }
    }

    /// Paints `x0 ..< x1` of row `y` (clipped to the canvas) with `color`.
    mutating func fill(row y: Int, _ x0: Int, _ x1: Int, _ color: RGB) {
        change(row: y, x0, x1, merging: true) { _ in color }
    }

    mutating func fillRect(x0: Int, y0: Int, x1: Int, y1: Int, color: RGB) {
        for y in rows(y0, y1) { fill(row: y, x0, x1, color) }
    }

    /// The pixels within `r` of the centre, as the renderer has always drawn them: (x, y) with
    /// (x - cx)² + (y - cy)² ≤ r², each row one span.
    mutating func fillCircle(cx: Int, cy: Int, r: Int, color: RGB) {
        for y in rows(cy - r, cy + r + 1) {
            let reach = Self.squareRoot((r * r) - (y - cy) * (y - cy))
            fill(row: y, cx - reach, cx + reach + 1, color)
        }
    }

    /// The rows from `top` up to `bottom` that are on the canvas (none when they are not).
    private func rows(_ top: Int, _ bottom: Int) -> Range<Int> {
        let first = max(0, top)
        return first..<max(first, min(height, bottom))
    }

    /// Lightens `x0 ..< x1` of row `y` towards white by two thirds, keeping its spans' edges.
    mutating func lighten(row y: Int, _ x0: Int, _ x1: Int) {
        change(row: y, x0, x1, merging: false) { $0.lightened }
    }

    /// Recolours `x0 ..< x1` of row `y` span by span; `merging` makes the part one span (a fill).
    private mutating func change(row y: Int, _ x0: Int, _ x1: Int, merging: Bool, _ recolor: (RGB) -> RGB) {
        let (from, to) = (max(0, x0), min(width, x1))
        guard y >= 0, y < height, from < to else { return }
        var changed: [Span] = []
        changed.reserveCapacity(rows[y].count + 2)
        var start = 0
        for span in rows[y] {
            defer { start = span.end }
            guard span.end > from, start < to else {
                changed.append(span)
                continue
            }
            if start < from { changed.append(Span(end: from, color: span.color)) }
            let end = min(span.end, to)
            if merging, start > from {
                changed[changed.count - 1].end = end  // the part painted so far grows
            } else {
                changed.append(Span(end: end, color: recolor(span.color)))
            }
            if span.end > to { changed.append(span) }  // its rest, past the part
        }
        rows[y] = changed
    }

    /// RGB bytes, row by row.
    var pixels: [UInt8] {
        var pixels: [UInt8] = []
        pixels.reserveCapacity(width * height * 3)
        for row in rows {
            var start = 0
            for span in row {
                for _ in start..<span.end {
                    pixels.append(span.color.r); pixels.append(span.color.g); pixels.append(span.color.b)
                }
                start = span.end
            }
        }
        return pixels
    }

    /// The largest d with d² ≤ n (0 for negative n).
    static func squareRoot(_ n: Int) -> Int {
        guard n > 0 else { return 0 }
        var d = Int(Double(n).squareRoot())
        while d * d > n { d -= 1 }
        while (d + 1) * (d + 1) <= n { d += 1 }
        return d
    }
}

extension RGB {
    /// The Free plan's mark: two thirds of the way to white.
    var lightened: RGB { RGB(Self.lightened(r), Self.lightened(g), Self.lightened(b)) }

    static func lightened(_ channel: UInt8) -> UInt8 { UInt8((Int(channel) + 255 * 2) / 3) }
}
