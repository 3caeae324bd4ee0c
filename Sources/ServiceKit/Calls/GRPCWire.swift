import Foundation
import GRPCCore
import NIOCore
import NIOHPACK

/// The parts of the gRPC wire protocol over HTTP/2 (grpc/grpc PROTOCOL-HTTP2.md) that a unary
/// client needs: the request's headers, length-prefixed messages, `grpc-timeout`, and the status
/// in trailers.
enum GRPCWire {
    /// The largest reply a call accepts. The largest the services give is a full page of stories
    /// (100 of 50,000 characters, about 5 MB), above gRPC's usual 4 MiB.
    static let maxReplyBytes = 16 << 20

    /// Headers gRPC reserves: they are not metadata.
    static let reserved: Set<String> = ["content-type", "te", "grpc-status", "grpc-message", "grpc-timeout",
                                        "grpc-encoding", "grpc-accept-encoding", "user-agent"]

    /// `grpc-timeout`: at most eight digits and a unit, the finest unit that fits.
    static func timeoutHeader(_ timeout: Duration) -> String {
        let (seconds, attoseconds) = timeout.components
        let nanoseconds = max(0, seconds) * 1_000_000_000 + max(0, attoseconds) / 1_000_000_000
        let units: [(divisor: Int64, unit: String)] = [(1, "n"), (1_000, "u"), (1_000_000, "m"), (1_000_000_000, "S"),
                                                        (60_000_000_000, "M"), (3_600_000_000_000, "H")]
        for (divisor, unit) in units {
            // Rounded up, so the server's deadline is never earlier than ours.
            let value = (nanoseconds + divisor - 1) / divisor
            if value <= 99_999_999 { return "\(value)\(unit)" }
        }
        return "99999999H"
    }

    static func requestHeaders(path: String, authority: String, metadata: Metadata, timeout: Duration) -> HPACKHeaders {
        var headers = HPACKHeaders()
        headers.reserveCapacity(8 + metadata.count)
        headers.add(name: ":method", value: "POST")
        headers.add(name: ":scheme", value: "http")
        headers.add(name: ":path", value: path)
        headers.add(name: ":authority", value: authority)
        headers.add(name: "content-type", value: "application/grpc")
        headers.add(name: "te", value: "trailers")
        headers.add(name: "grpc-timeout", value: timeoutHeader(timeout))
        for (key, value) in metadata where !reserved.contains(key) {
            switch value {
            case .string(let text): headers.add(name: key, value: text)
            case .binary(let bytes): headers.add(name: key, value: Data(bytes).base64EncodedString())
            }
        }
        return headers
    }

    /// One message with its five-byte prefix: uncompressed, then the length big-endian.
    static func frame(_ message: [UInt8], allocator: ByteBufferAllocator) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: 5 + message.count)
        buffer.writeInteger(UInt8(0))
        buffer.writeInteger(UInt32(message.count))
        buffer.writeBytes(message)
        return buffer
    }

    /// Metadata from received headers: pseudo-headers and reserved names left out, `-bin` values
    /// decoded from base64 (padded or not, as the spec allows).
    static func metadata(_ headers: HPACKHeaders) -> Metadata {
        var metadata = Metadata()
        for (name, value, _) in headers where !name.hasPrefix(":") && !reserved.contains(name) {
            if name.hasSuffix("-bin") {
                if let bytes = decodeBase64(value) { metadata.addBinary(bytes, forKey: name) }
            } else {
                metadata.addString(value, forKey: name)
            }
        }
        return metadata
    }

    static func decodeBase64(_ text: String) -> [UInt8]? {
        var padded = text
        let remainder = padded.utf8.count % 4
        if remainder > 0 { padded += String(repeating: "=", count: 4 - remainder) }
        return Data(base64Encoded: padded).map { Array($0) }
    }

    /// `grpc-message` is percent-encoded UTF-8.
    static func decodeMessage(_ text: String) -> String {
        guard text.utf8.contains(UInt8(ascii: "%")) else { return text }
        var bytes: [UInt8] = []
        var iterator = Array(text.utf8).makeIterator()
        while let byte = iterator.next() {
            if byte == UInt8(ascii: "%"), let high = iterator.next(), let low = iterator.next(),
               let value = UInt8(String(decoding: [high, low], as: UTF8.self), radix: 16) {
                bytes.append(value)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The code for a reply that is not gRPC at all (no `grpc-status`), from its HTTP status, as
    /// the spec's "HTTP to gRPC status code mapping" says.
    static func code(httpStatus: Int) -> RPCError.Code {
        switch httpStatus {
        case 400: .internalError
        case 401: .unauthenticated
        case 403: .permissionDenied
        case 404: .unimplemented
        case 429, 502, 503, 504: .unavailable
        default: .unknown
        }
    }

    /// The error a finished call's trailers describe, or nil when they say OK.
    static func error(trailers: HPACKHeaders, httpStatus: Int?) -> RPCError? {
        guard let status = trailers.first(name: "grpc-status") else {
            let code = httpStatus.map { $0 == 200 ? RPCError.Code.internalError : Self.code(httpStatus: $0) } ?? .internalError
            return RPCError(code: code, message: "the reply carried no grpc-status (HTTP \(httpStatus.map(String.init) ?? "status missing"))")
        }
        guard let value = Int(status), let code = Status.Code(rawValue: value) else {
            return RPCError(code: .unknown, message: "the reply's grpc-status \(status) is not a status code")
        }
        guard let rpcCode = RPCError.Code(code) else { return nil }  // OK
        return RPCError(code: rpcCode, message: decodeMessage(trailers.first(name: "grpc-message") ?? ""),
                        metadata: metadata(trailers))
    }

    /// Reassembles the reply's message from DATA frames, refusing one above the limit before its
    /// bytes arrive, a compressed one (none was asked for), and a second message.
    struct MessageReader {
        private var deframer: Deframer
        private(set) var message: [UInt8]?

        init(limit: Int) { deframer = Deframer(limit: limit, noun: "reply") }

        mutating func append(_ data: ByteBuffer) throws(RPCError) {
            for next in try deframer.append(data) {
                guard message == nil else { throw RPCError(code: .internalError, message: "a unary reply carried two messages") }
                message = next
            }
        }

        var hasPartialMessage: Bool { deframer.hasPartialMessage }
    }

    /// Length-prefixed messages out of DATA frames, however the frames cut them: each message is
    /// refused above `limit` as soon as its prefix arrives, and a compressed one is refused (no
    /// compression is offered or accepted).
    struct Deframer {
        let limit: Int
        /// "reply" or "request", for the errors.
        let noun: String
        private var buffer = ByteBuffer()

        init(limit: Int, noun: String) {
            self.limit = limit
            self.noun = noun
        }

        mutating func append(_ data: ByteBuffer) throws(RPCError) -> [[UInt8]] {
            var data = data
            buffer.writeBuffer(&data)
            var messages: [[UInt8]] = []
            while let (compressed, length) = buffer.getPrefix() {
                guard compressed == 0 else {
                    throw RPCError(code: .internalError, message: "the \(noun) is compressed, and no compression was agreed")
                }
                guard length <= limit else {
                    throw RPCError(code: .resourceExhausted, message: "the \(noun) of \(length) bytes is above the limit of \(limit)")
                }
                guard buffer.readableBytes >= 5 + length else { break }
                buffer.moveReaderIndex(forwardBy: 5)
                messages.append(buffer.readBytes(length: length) ?? [])
            }
            buffer.discardReadBytes()
            return messages
        }

        var hasPartialMessage: Bool { buffer.readableBytes > 0 }
    }

    /// `grpc-message` percent-encoded: printable ASCII but `%` as it is, every other byte of the
    /// UTF-8 as `%XX`.
    static func encodeMessage(_ text: String) -> String {
        guard text.utf8.contains(where: { $0 < 0x20 || $0 > 0x7E || $0 == UInt8(ascii: "%") }) else { return text }
        let hex = Array("0123456789ABCDEF".utf8)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count * 3)
        for byte in text.utf8 {
            if byte < 0x20 || byte > 0x7E || byte == UInt8(ascii: "%") {
                bytes += [UInt8(ascii: "%"), hex[Int(byte >> 4)], hex[Int(byte & 0x0F)]]
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Metadata as headers: keys lowercased, binary values base64.
    static func add(_ metadata: Metadata, to headers: inout HPACKHeaders) {
        for (key, value) in metadata {
            switch value {
            case .string(let text): headers.add(name: key.lowercased(), value: text)
            case .binary(let bytes): headers.add(name: key.lowercased(), value: Data(bytes).base64EncodedString())
            }
        }
    }

    /// A reply's headers: 200, gRPC's content type and the handler's metadata.
    static func responseHeaders(_ metadata: Metadata) -> HPACKHeaders {
        var headers = HPACKHeaders()
        headers.reserveCapacity(2 + metadata.count)
        headers.add(name: ":status", value: "200")
        headers.add(name: "content-type", value: "application/grpc")
        add(metadata, to: &headers)
        return headers
    }

    /// A reply's trailers: the status, its message and the trailing metadata (the error details
    /// among them). `trailersOnly` is a reply with no headers before it, which carries theirs too.
    static func trailers(_ status: Status, _ metadata: Metadata, trailersOnly: Bool) -> HPACKHeaders {
        var trailers = HPACKHeaders()
        trailers.reserveCapacity(4 + metadata.count)
        if trailersOnly {
            trailers.add(name: ":status", value: "200")
            trailers.add(name: "content-type", value: "application/grpc")
        }
        trailers.add(name: "grpc-status", value: String(status.code.rawValue))
        if !status.message.isEmpty { trailers.add(name: "grpc-message", value: encodeMessage(status.message)) }
        add(metadata, to: &trailers)
        return trailers
    }
}

private extension ByteBuffer {
    func getPrefix() -> (compressed: UInt8, length: Int)? {
        guard readableBytes >= 5, let flag = getInteger(at: readerIndex, as: UInt8.self),
              let length = getInteger(at: readerIndex + 1, as: UInt32.self) else { return nil }
        return (flag, Int(length))
    }
}
