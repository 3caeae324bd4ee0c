import Foundation

/// When each illustration shows during the narration: by word count, since a narrator reads at
/// an even pace. A scene `k` words into a text of `n` words shows `k / n` of the way through; it
/// stays until the next one. Without a narration yet, its length is estimated at 150 words a
/// minute (about what OpenAI's voices and espeak-ng read at).
enum SceneTiming {
    static let wordsPerSecond = 150.0 / 60

    struct Sentence {
        let text: String
        let wordOffset: Int
        let words: Int
    }

    static func wordCount(_ text: String) -> Int {
        text.split(whereSeparator: \.isWhitespace).count
    }

    static func estimatedDuration(words: Int) -> Double { Double(max(words, 1)) / wordsPerSecond }

    /// The text's sentences with the word each starts at.
    static func sentences(_ text: String) -> [Sentence] {
        var result: [Sentence] = []
        var current: [Substring] = []
        var offset = 0
        for word in text.split(whereSeparator: \.isWhitespace) {
            current.append(word)
            if let last = word.last, ".!?…".contains(last) {
                result.append(Sentence(text: current.joined(separator: " "), wordOffset: offset, words: current.count))
                offset += current.count
                current = []
            }
        }
        if !current.isEmpty { result.append(Sentence(text: current.joined(separator: " "), wordOffset: offset, words: current.count)) }
        return result
    }

    /// How many words into `text` the quote starts, ignoring case and punctuation.
    static func wordOffset(of quote: String, in text: String) -> Int? {
        func words(_ s: String) -> [String] { s.lowercased().split(whereSeparator: \.isWhitespace).map { $0.filter { $0.isLetter || $0.isNumber } } }
        let needle = words(quote).filter { !$0.isEmpty }
        let haystack = words(text)
        guard !needle.isEmpty, needle.count <= haystack.count else { return nil }
        for start in 0...(haystack.count - needle.count) where haystack[start] == needle[0] {
            if Array(haystack[start..<(start + needle.count)]) == needle { return start }
        }
        return nil
    }

    /// Start and length of each scene across a narration of `duration` seconds.
    static func times(_ scenes: [Scene], totalWords: Int, duration: Double) -> [(timestamp: Double, duration: Double)] {
        let total = Double(max(totalWords, 1))
        let starts = scenes.map { (Double($0.wordOffset) / total * duration * 10).rounded() / 10 }
        return starts.enumerated().map { index, start in
            let end = index + 1 < starts.count ? starts[index + 1] : duration
            return (start, max(0, ((end - start) * 10).rounded() / 10))
        }
    }

    /// Given timestamps: each lasts until the next, the last until the end.
    static func given(_ timestamps: [Double], duration: Double) -> [(timestamp: Double, duration: Double)] {
        timestamps.enumerated().map { index, start in
            let end = index + 1 < timestamps.count ? timestamps[index + 1] : max(duration, start)
            return (start, max(0, end - start))
        }
    }
}
