import Foundation
import ServiceKit

/// The local provider's narration: WAV, from espeak-ng in the story's language when it is
/// installed (the test command installs it), else a plain synthesized voice (a soft tone a
/// syllable, a pause between words) so narration still works, and still lasts as long as the
/// text takes to read. Runs on the bounded pool: espeak-ng is a blocking child process.
struct LocalSpeech: SpeechProvider {
    let name = "local"
    var speechModel: String { espeak == nil ? "local-tone" : "espeak-ng" }
    let pool: BoundedWorkPool
    /// espeak-ng's path, when installed.
    let espeak: String?

    init(pool: BoundedWorkPool) {
        self.pool = pool
        espeak = ["/usr/bin/espeak-ng", "/usr/local/bin/espeak-ng"].first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    func speak(_ request: SpeechRequest) async throws -> Speech {
        let wav: [UInt8]
        if let espeak {
            let voice = ["en", "es", "fr", "de", "it"].contains(request.language) ? request.language : "en"
            wav = try await pool.run { try Self.espeak(espeak, text: request.text, voice: voice) }
        } else {
            wav = try await pool.run { Self.synthesize(request.text) }
        }
        guard let duration = WAV.seconds(wav) else {
            throw ProviderError(code: "PROVIDER_MALFORMED_REPLY", message: "the narration is not WAV audio", retryable: true)
        }
        return Speech(bytes: wav, contentType: "audio/wav", fileExtension: "wav", durationSeconds: duration, characters: request.text.count)
    }

    private static func espeak(_ path: String, text: String, voice: String) throws -> [UInt8] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = ["-v", voice, "-s", "150", "--stdout"]
        let input = Pipe(), output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        // The text goes in on a thread of its own: a long story would fill the pipe while espeak writes.
        let writer = Thread { input.fileHandleForWriting.write(Data(text.utf8)); try? input.fileHandleForWriting.close() }
        writer.start()
        let audio = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0, !audio.isEmpty else {
            throw ProviderError(code: "PROVIDER_UNAVAILABLE", message: "espeak-ng failed (\(process.terminationStatus))", retryable: true)
        }
        return Array(audio)
    }

    /// 16 kHz mono: a 120 ms tone a syllable (about one every three letters), 80 ms between words.
    static func synthesize(_ text: String) -> [UInt8] {
        let rate = 16_000
        var samples: [Int16] = []
        for (index, word) in text.split(whereSeparator: { $0.isWhitespace }).enumerated() {
            let syllables = max(1, word.count / 3)
            let pitch = 180.0 + Double((index * 37) % 80)
            for syllable in 0..<syllables {
                let count = rate * 120 / 1000
                for n in 0..<count {
                    let envelope = sin(Double.pi * Double(n) / Double(count))
                    samples.append(Int16(6000 * envelope * sin(2 * .pi * (pitch + Double(syllable * 9)) * Double(n) / Double(rate))))
                }
            }
            samples += [Int16](repeating: 0, count: rate * 80 / 1000)
        }
        return WAV.encode(samples: samples, rate: rate)
    }
}

/// RIFF WAVE, 16-bit PCM: writing one, and reading how long one lasts.
enum WAV {
    static func encode(samples: [Int16], rate: Int) -> [UInt8] {
        var out: [UInt8] = Array("RIFF".utf8)
        func le32(_ v: Int) { out += [UInt8(v & 0xFF), UInt8((v >> 8) & 0xFF), UInt8((v >> 16) & 0xFF), UInt8((v >> 24) & 0xFF)] }
        func le16(_ v: Int) { out += [UInt8(v & 0xFF), UInt8((v >> 8) & 0xFF)] }
        le32(36 + samples.count * 2)
        out += Array("WAVEfmt ".utf8)
        le32(16); le16(1); le16(1); le32(rate); le32(rate * 2); le16(2); le16(16)
        out += Array("data".utf8)
        le32(samples.count * 2)
        for sample in samples { le16(Int(UInt16(bitPattern: sample))) }
        return out
    }

    /// The data chunk's length over the format's byte rate. espeak-ng writes to a pipe, so its
    /// header's sizes may be placeholders: a data size past the end of the file reads as the rest.
    static func seconds(_ bytes: [UInt8]) -> Double? {
        guard bytes.count >= 12, bytes.starts(with: Array("RIFF".utf8)), bytes[8..<12].elementsEqual(Array("WAVE".utf8)) else { return nil }
        func le32(_ at: Int) -> Int { Int(bytes[at]) | Int(bytes[at + 1]) << 8 | Int(bytes[at + 2]) << 16 | Int(bytes[at + 3]) << 24 }
        var offset = 12
        var byteRate = 0
        while offset + 8 <= bytes.count {
            let size = le32(offset + 4)
            let type = String(decoding: bytes[offset..<(offset + 4)], as: UTF8.self)
            if type == "fmt ", offset + 20 <= bytes.count { byteRate = le32(offset + 16) }
            if type == "data" {
                guard byteRate > 0 else { return nil }
                let available = bytes.count - offset - 8
                let length = size <= 0 || size > available ? available : size
                return Double(length) / Double(byteRate)
            }
            offset += 8 + size + (size & 1)
        }
        return nil
    }
}
