import Foundation
import NIOCore
import NIOPosix
import NIOSSL

/// Where and how to send mail.
///
/// - mail.smtp-host (string, default none): SMTP server; without it mail stays in the outbox and the log
/// - mail.smtp-port (int, default 587, or 465 with TLS)
/// - mail.smtp-username / mail.smtp-password (secret, default none): AUTH PLAIN credentials
/// - mail.smtp-tls (bool, default false): implicit TLS (SMTPS, usually port 465)
/// - mail.from (string, default "Atelier <no-reply@atelier.local>"): the sender
public struct SMTPSettings: Sendable {
    public var host: String
    public var port: Int
    public var username: String?
    public var password: String?
    public var useTLS: Bool
    public var from: String

    /// The address inside `Name <address>`, for the envelope.
    var fromAddress: String {
        guard let open = from.firstIndex(of: "<"), let close = from.lastIndex(of: ">"), open < close else { return from }
        return String(from[from.index(after: open)..<close])
    }
}

/// A small SMTP client (RFC 5321): EHLO, STARTTLS when the server offers it (RFC 3207), optional
/// AUTH PLAIN (never over a plain connection), MAIL FROM, RCPT TO, DATA, QUIT, over TCP or
/// implicit TLS. The body is sent base64-encoded UTF-8, so any text is safe.
struct SMTPClient: Sendable {
    let settings: SMTPSettings

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    func send(to recipient: String, subject: String, body: String, messageID: String) async throws {
        let settings = self.settings
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(.seconds(10))
            .connect(host: settings.host, port: settings.port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    if settings.useTLS { try channel.pipeline.syncOperations.addHandler(try Self.tls(settings.host)) }
                    return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        try await channel.executeThenClose { inbound, outbound in
            var replies = SMTPReplyReader(inbound.makeAsyncIterator())
            @discardableResult
            func expect(_ codes: Set<Int>, after command: String?) async throws -> [String] {
                if let command { try await outbound.write(ByteBuffer(string: command + "\r\n")) }
                let reply = try await replies.next()
                guard codes.contains(reply.code) else {
                    throw Failure(description: "SMTP server answered \(reply.code) \(reply.text) to \(command?.prefix(10) ?? "greeting")")
                }
                return reply.lines
            }
            try await expect([220], after: nil)
            var capabilities = try await expect([250], after: "EHLO atelier")
            var encrypted = settings.useTLS
            // Port 587's way: upgrade the plain connection when the server offers it.
            if !encrypted, capabilities.contains(where: { $0.uppercased().hasPrefix("STARTTLS") }) {
                try await expect([220], after: "STARTTLS")
                try await channel.channel.pipeline.addHandler(try Self.tls(settings.host), position: .first).get()
                encrypted = true
                capabilities = try await expect([250], after: "EHLO atelier")
            }
            if let username = settings.username, let password = settings.password {
                guard encrypted else {
                    throw Failure(description: "refusing to send SMTP credentials over a plain connection: the server offers no STARTTLS "
                                  + "(set mail.smtp-tls for implicit TLS)")
                }
                let token = Data("\0\(username)\0\(password)".utf8).base64EncodedString()
                try await expect([235], after: "AUTH PLAIN \(token)")
            }
            try await expect([250], after: "MAIL FROM:<\(settings.fromAddress)>")
            try await expect([250, 251], after: "RCPT TO:<\(recipient)>")
            try await expect([354], after: "DATA")
            let message = Self.message(from: settings.from, to: recipient, subject: subject, body: body, messageID: messageID)
            try await expect([250], after: message + "\r\n.")
            _ = try? await expect([221], after: "QUIT")
        }
    }

    private static func tls(_ host: String) throws -> NIOSSLClientHandler {
        // Server Name Indication takes a name, never an address.
        let isAddress = (try? SocketAddress(ipAddress: host, port: 0)) != nil
        return try NIOSSLClientHandler(context: try NIOSSLContext(configuration: .makeClientConfiguration()),
                                       serverHostname: isAddress ? nil : host)
    }

    /// Headers and a base64 body; no line starts with '.', so no dot-stuffing is needed.
    static func message(from: String, to: String, subject: String, body: String, messageID: String) -> String {
        let encodedSubject = subject.allSatisfy(\.isASCII) ? subject : "=?UTF-8?B?\(Data(subject.utf8).base64EncodedString())?="
        let date = Date().formatted(.dateTime.locale(Locale(identifier: "en_US_POSIX")).weekday(.abbreviated).day(.twoDigits)
            .month(.abbreviated).year().hour(.twoDigits(amPM: .omitted)).minute(.twoDigits).second(.twoDigits)) + " +0000"
        let encodedBody = Data(body.utf8).base64EncodedString(options: [.lineLength76Characters, .endLineWithCarriageReturn, .endLineWithLineFeed])
        return [
            "From: \(from)", "To: <\(to)>", "Subject: \(encodedSubject)", "Date: \(date)",
            "Message-ID: <\(messageID)@atelier>", "MIME-Version: 1.0", "Content-Type: text/plain; charset=utf-8",
            "Content-Transfer-Encoding: base64", "", encodedBody,
        ].joined(separator: "\r\n")
    }
}

/// Reads SMTP replies, which may span several lines (`250-...` then `250 ...`).
struct SMTPReplyReader {
    private var iterator: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator
    private var pending = ""

    init(_ iterator: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator) { self.iterator = iterator }

    mutating func next() async throws -> (code: Int, text: String, lines: [String]) {
        var lines: [String] = []
        while true {
            while let newline = pending.range(of: "\r\n") {
                let line = String(pending[..<newline.lowerBound])
                pending.removeSubrange(..<newline.upperBound)
                lines.append(line)
                let bytes = Array(line.utf8)
                if bytes.count < 4 || bytes[3] == UInt8(ascii: " ") {
                    guard let code = Int(line.prefix(3)) else { throw SMTPClient.Failure(description: "bad SMTP reply '\(line)'") }
                    let texts = lines.map { String($0.dropFirst(4)) }
                    return (code, texts.joined(separator: " "), texts)
                }
            }
            guard let chunk = try await iterator.next() else { throw SMTPClient.Failure(description: "SMTP server closed the connection") }
            pending += String(buffer: chunk)
        }
    }
}
