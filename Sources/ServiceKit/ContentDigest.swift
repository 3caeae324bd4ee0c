import Crypto

/// The SHA-256 of a text, in lower-case hex: how one service tells another which version of a
/// text it worked from (generation narrates a story; catalog checks it is still that story).
public enum ContentDigest {
    public static func sha256(_ text: String) -> String {
        SHA256.hash(data: Array(text.utf8)).map { byte in
            let digits = Array("0123456789abcdef")
            return String([digits[Int(byte >> 4)], digits[Int(byte & 0x0F)]])
        }.joined()
    }
}
