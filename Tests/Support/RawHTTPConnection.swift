import Foundation
import NIOCore
import NIOPosix

/// A TCP connection to the edge that sends exactly the bytes a test writes: malformed requests,
/// chunked bodies, a head dripped line by line, or nothing at all.
public final class RawHTTPConnection: Sendable {
    private let channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>

    public static func open(port: Int) async throws -> RawHTTPConnection {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture { try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel) }
            }
        return RawHTTPConnection(channel: channel)
    }

    private init(channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>) { self.channel = channel }

    /// Writes `text` as it is.
    public func send(_ text: String) async throws {
        try await channel.channel.writeAndFlush(ByteBuffer(string: text))
    }

    public func send(_ bytes: [UInt8]) async throws {
        try await channel.channel.writeAndFlush(ByteBuffer(bytes: bytes))
    }

    /// Everything the server sends until it closes the connection or `within` passes, and
    /// whether it closed.
    public func read(within limit: Duration) async throws -> (text: String, closed: Bool) {
        let received = try await withThrowingTaskGroup(of: (String, Bool)?.self) { group in
            group.addTask {
                var text = ""
                // A reset (the server closed with bytes still unread) is a close too.
                do { for try await buffer in self.channel.inbound { text += String(buffer: buffer) } } catch {}
                return (text, true)
            }
            group.addTask {
                try await Task.sleep(for: limit)
                return nil
            }
            let first = try await group.next() ?? nil
            group.cancelAll()
            return first
        }
        return received ?? ("", false)
    }

    /// The first response's status, once its head has arrived (or nil when the server closed first).
    public func status(within limit: Duration) async throws -> (status: Int?, text: String) {
        let (text, _) = try await readUntil(within: limit) { $0.contains("\r\n\r\n") }
        let status = text.split(separator: " ", maxSplits: 2).dropFirst().first.flatMap { Int($0) }
        return (status, text)
    }

    private func readUntil(within limit: Duration, _ done: @escaping @Sendable (String) -> Bool) async throws -> (String, Bool) {
        try await withThrowingTaskGroup(of: (String, Bool).self) { group in
            group.addTask {
                var text = ""
                do {
                    for try await buffer in self.channel.inbound {
                        text += String(buffer: buffer)
                        if done(text) {
                            // Give the rest of a short reply a moment to arrive.
                            try? await Task.sleep(for: .milliseconds(100))
                            return (text, false)
                        }
                    }
                } catch {}
                return (text, true)
            }
            group.addTask {
                try await Task.sleep(for: limit)
                return ("", false)
            }
            let first = try await group.next() ?? ("", false)
            group.cancelAll()
            return first
        }
    }

    public func close() async {
        try? await channel.channel.close()
    }
}
