import Foundation
import NIOCore
import NIOPosix
import Synchronization

/// A local SMTP server that speaks enough of RFC 5321 for a client to deliver to it, and keeps
/// what it received: the envelope, the commands and the message text.
public final class FakeSMTPServer: Sendable {
    public struct Delivery: Sendable {
        public let from: String
        public let recipients: [String]
        public let data: String
        public let commands: [String]

        /// The body, decoded from base64 as the message headers declare.
        public var decodedBody: String {
            guard let split = data.range(of: "\r\n\r\n") else { return data }
            let encoded = data[split.upperBound...].replacingOccurrences(of: "\r\n", with: "")
            return Data(base64Encoded: encoded).map { String(decoding: $0, as: UTF8.self) } ?? String(data[split.upperBound...])
        }
    }

    private let channel: any Channel
    private let received = Mutex<[Delivery]>([])
    private let conversations = Mutex<[[String]]>([])
    public let port: Int

    /// - Parameter offerStartTLS: advertise STARTTLS, as a submission server on port 587 does. This
    ///   fake cannot speak TLS: a client that takes the offer is seen asking, then cut off.
    public static func start(offerStartTLS: Bool = false) async throws -> FakeSMTPServer {
        let box = DeliveryBox()
        box.offerStartTLS.withLock { $0 = offerStartTLS }
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(SMTPSessionHandler(box: box))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        let server = FakeSMTPServer(channel: channel, port: channel.localAddress?.port ?? 0)
        box.server.withLock { $0 = server }
        return server
    }

    private init(channel: any Channel, port: Int) {
        self.channel = channel
        self.port = port
    }

    public var deliveries: [Delivery] { received.withLock { $0 } }

    /// Every command of every conversation, delivered or not.
    public var commands: [[String]] { conversations.withLock { $0 } }

    fileprivate func record(_ delivery: Delivery) { received.withLock { $0.append(delivery) } }
    fileprivate func record(commands: [String]) { conversations.withLock { $0.append(commands) } }

    public func stop() async throws { try await channel.close() }
}

private final class DeliveryBox: Sendable {
    let server = Mutex<FakeSMTPServer?>(nil)
    let offerStartTLS = Mutex(false)
}

/// One SMTP conversation, line by line.
private final class SMTPSessionHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let box: DeliveryBox
    private var pending = ""
    private var inData = false
    private var data: [String] = []
    private var from = ""
    private var recipients: [String] = []
    private var commands: [String] = []

    init(box: DeliveryBox) { self.box = box }

    func channelActive(context: ChannelHandlerContext) {
        reply("220 fake.smtp ESMTP ready", context: context)
    }

    func channelRead(context: ChannelHandlerContext, data input: NIOAny) {
        pending += String(buffer: unwrapInboundIn(input))
        while let newline = pending.range(of: "\r\n") {
            let line = String(pending[..<newline.lowerBound])
            pending.removeSubrange(..<newline.upperBound)
            handle(line, context: context)
        }
    }

    private func handle(_ line: String, context: ChannelHandlerContext) {
        if inData {
            if line == "." {
                inData = false
                let delivery = FakeSMTPServer.Delivery(from: from, recipients: recipients, data: data.joined(separator: "\r\n"),
                                                       commands: commands)
                box.server.withLock { $0?.record(delivery) }
                data = []
                recipients = []
                reply("250 queued", context: context)
            } else {
                data.append(line.hasPrefix("..") ? String(line.dropFirst()) : line)
            }
            return
        }
        commands.append(line)
        let verb = line.prefix(4).uppercased()
        switch verb {
        case "EHLO":
            let startTLS = box.offerStartTLS.withLock { $0 } ? "250-STARTTLS\r\n" : ""
            reply("250-fake.smtp\r\n\(startTLS)250-AUTH PLAIN\r\n250 8BITMIME", context: context)
        case "STAR":
            reply("220 ready to start TLS", context: context)
            // What follows is a TLS handshake this fake cannot answer.
            box.server.withLock { $0?.record(commands: commands) }
            context.close(promise: nil)
        case "AUTH": reply("235 accepted", context: context)
        case "MAIL": from = Self.address(line); reply("250 ok", context: context)
        case "RCPT": recipients.append(Self.address(line)); reply("250 ok", context: context)
        case "DATA": inData = true; reply("354 go ahead", context: context)
        case "QUIT":
            box.server.withLock { $0?.record(commands: commands) }
            reply("221 bye", context: context)
            context.close(promise: nil)
        default: reply("502 not implemented", context: context)
        }
    }

    private static func address(_ line: String) -> String {
        guard let open = line.firstIndex(of: "<"), let close = line.lastIndex(of: ">") else { return "" }
        return String(line[line.index(after: open)..<close])
    }

    private func reply(_ text: String, context: ChannelHandlerContext) {
        context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: text + "\r\n")), promise: nil)
    }
}
