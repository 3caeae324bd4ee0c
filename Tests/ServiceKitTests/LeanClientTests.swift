import AtelierTestSupport
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Logging
import ServiceKit
import ServiceLifecycle
import Testing

/// ServiceKit's lean unary client (`HTTP2Channel`) against servers it did not come from: a
/// grpc-swift-2 server on grpc-swift-nio-transport and Python's grpcio, both serving the test
/// Echo service; and against the services' own transport (`FrameServerTransport`).
@Suite("The lean unary client against grpc-swift-2, grpcio and the services' transport")
struct LeanClientTests {
    static let servers = EchoServerKind.available

    @Test("a unary call answers with the reply and its metadata", arguments: servers)
    func success(kind: EchoServerKind) async throws {
        try await kind.withServer { port, _ in
            let channel = HTTP2Channel(host: "127.0.0.1", port: port)
            defer { channel.close() }
            let reply = try await channel.unary(EchoService.method("Echo"), request: Array("hello".utf8), metadata: ["x-test": "1"],
                                                timeout: .seconds(5))
            #expect(reply.message == Array("hello".utf8))
            #expect(reply.metadata[stringValues: "echo-count"].first(where: { _ in true }) == "5")
            // Many at once share the connections.
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<50 {
                    group.addTask {
                        let text = Array("call \(index)".utf8)
                        let reply = try await channel.unary(EchoService.method("Echo"), request: text, metadata: [:], timeout: .seconds(5))
                        #expect(reply.message == text)
                    }
                }
                try await group.waitForAll()
            }
        }
    }

    @Test("an error carries its code, message and standard details", arguments: servers)
    func errorDetails(kind: EchoServerKind) async throws {
        try await kind.withServer { port, _ in
            let channel = HTTP2Channel(host: "127.0.0.1", port: port)
            defer { channel.close() }
            do {
                _ = try await channel.unary(EchoService.method("Fail"), request: Array("café".utf8), metadata: [:], timeout: .seconds(5))
                Issue.record("Fail succeeded")
            } catch let error as RPCError {
                #expect(error.code == .invalidArgument)
                #expect(error.message == "refused: café", "grpc-message is percent-decoded")
                let received = ServiceError(received: error)
                #expect(received.reason == "ECHO_REFUSED")
                #expect(received.field == "input")
            }
        }
    }

    @Test("a call past its deadline ends DEADLINE_EXCEEDED at the deadline", arguments: servers)
    func deadline(kind: EchoServerKind) async throws {
        try await kind.withServer { port, _ in
            let channel = HTTP2Channel(host: "127.0.0.1", port: port)
            defer { channel.close() }
            _ = try await channel.unary(EchoService.method("Echo"), request: [1], metadata: [:], timeout: .seconds(5))  // connected
            let start = ContinuousClock.now
            do {
                _ = try await channel.unary(EchoService.method("Sleep"), request: Array("3000".utf8), metadata: [:], timeout: .milliseconds(300))
                Issue.record("Sleep answered before its deadline")
            } catch let error as RPCError {
                #expect(error.code == .deadlineExceeded)
            }
            #expect(ContinuousClock.now - start < .seconds(2))
        }
    }

    @Test("a reply above 16 MiB is refused, one below arrives whole", arguments: servers)
    func replyLimit(kind: EchoServerKind) async throws {
        try await kind.withServer { port, _ in
            let channel = HTTP2Channel(host: "127.0.0.1", port: port)
            defer { channel.close() }
            let five = try await channel.unary(EchoService.method("Big"), request: Array("5000000".utf8), metadata: [:], timeout: .seconds(20))
            #expect(five.message.count == 5_000_000)
            do {
                _ = try await channel.unary(EchoService.method("Big"), request: Array("\(17 << 20)".utf8), metadata: [:], timeout: .seconds(20))
                Issue.record("a 17 MiB reply was accepted")
            } catch let error as RPCError {
                #expect(error.code == .resourceExhausted)
            }
            // The connection survives for the next call.
            let after = try await channel.unary(EchoService.method("Echo"), request: [7], metadata: [:], timeout: .seconds(5))
            #expect(after.message == [7])
        }
    }

    @Test("large replies at once and replies reset mid-flight: the connection's window is given back", arguments: servers)
    func windows(kind: EchoServerKind) async throws {
        try await kind.withServer { port, _ in
            // One connection, so 24 replies of 3 MB (72 MB) pass through one 32 MiB window.
            let channel = HTTP2Channel(host: "127.0.0.1", port: port, connections: 1)
            defer { channel.close() }
            try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<24 {
                    group.addTask {
                        try await channel.unary(EchoService.method("Big"), request: Array("3000000".utf8), metadata: [:], timeout: .seconds(30))
                            .message.count
                    }
                }
                for try await count in group { #expect(count == 3_000_000) }
            }
            // Replies refused at the limit are reset with their bytes in flight; those bytes still
            // count against the connection's window, and it must not leak away.
            for _ in 0..<40 {
                await #expect(throws: RPCError.self) {
                    try await channel.unary(EchoService.method("Big"), request: Array("\(17 << 20)".utf8), metadata: [:], timeout: .seconds(30))
                }
            }
            let after = try await channel.unary(EchoService.method("Big"), request: Array("3000000".utf8), metadata: [:], timeout: .seconds(10))
            #expect(after.message.count == 3_000_000)
        }
    }

    @Test("a server that shuts down gracefully finishes the call in flight; the next goes to its successor",
          arguments: [EchoServerKind.grpcSwift, .frames])
    func gracefulShutdown(kind: EchoServerKind) async throws {
        try await kind.withServer { port, server in
            let channel = HTTP2Channel(host: "127.0.0.1", port: port, connections: 1)
            defer { channel.close() }
            _ = try await channel.unary(EchoService.method("Echo"), request: [1], metadata: [:], timeout: .seconds(5))
            let service = try #require(server.echo)
            async let slow = channel.unary(EchoService.method("Sleep"), request: Array("500".utf8), metadata: [:], timeout: .seconds(5))
            while service.sleepsBegun == 0 { try await Task.sleep(for: .milliseconds(5)) }
            try await server.stop()  // GOAWAY, then waits for the call in flight
            #expect(try await slow.message == Array("slept".utf8))
            try await server.start()
            let next = try await channel.unary(EchoService.method("Echo"), request: [2], metadata: [:], timeout: .seconds(10))
            #expect(next.message == [2])
        }
    }

    @Test("calls fail while the server is gone and succeed once it is back on its port", arguments: servers)
    func goneAndBack(kind: EchoServerKind) async throws {
        try await kind.withServer { port, server in
            let channel = HTTP2Channel(host: "127.0.0.1", port: port)
            defer { channel.close() }
            _ = try await channel.unary(EchoService.method("Echo"), request: [1], metadata: [:], timeout: .seconds(5))
            try await server.stop()
            do {
                _ = try await channel.unary(EchoService.method("Echo"), request: [2], metadata: [:], timeout: .milliseconds(500))
                Issue.record("a call succeeded with the server gone")
            } catch let error as RPCError {
                #expect([.unavailable, .deadlineExceeded].contains(error.code), "\(error)")
            }
            try await server.start()
            let back = try await channel.unary(EchoService.method("Echo"), request: [3], metadata: [:], timeout: .seconds(10))
            #expect(back.message == [3])
        }
    }
}

/// Which server a test runs against: grpc-swift-2 in this process on grpc-swift-nio-transport or
/// on the services' `FrameServerTransport`, or Python's grpcio when the test command provides it
/// (`ATELIER_TEST_PYTHON`, a python with grpcio and grpcio-status).
public enum EchoServerKind: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case grpcSwift, frames, grpcio

    public var testDescription: String { rawValue }

    static var python: String? {
        ProcessInfo.processInfo.environment["ATELIER_TEST_PYTHON"].flatMap { $0.isEmpty ? nil : $0 }
    }

    static var available: [EchoServerKind] {
        if python != nil { return [.grpcSwift, .frames, .grpcio] }
        precondition(ProcessInfo.processInfo.environment["ATELIER_TEST_REQUIRE_PYTHON"] == nil,
                     "ATELIER_TEST_REQUIRE_PYTHON is set but ATELIER_TEST_PYTHON is not")
        return [.grpcSwift, .frames]
    }

    /// Runs `body` with a server listening on a port of its own, stopped afterwards.
    func withServer(_ body: (Int, any EchoServer) async throws -> Void) async throws {
        let port = try await TestStack.unusedPort()
        let server: any EchoServer = switch self {
        case .grpcSwift:
            SwiftEchoServer(port: port, transport: { HTTP2ServerTransport.Posix(address: .ipv4(host: "127.0.0.1", port: $0), transportSecurity: .plaintext) },
                            listening: { _ = try await $0.listeningAddress })
        case .frames:
            SwiftEchoServer(port: port, transport: { FrameServerTransport(host: "127.0.0.1", port: $0, maxRequestBytes: 4 << 20) },
                            listening: { _ = try await $0.listeningPort() })
        case .grpcio: PythonEchoServer(port: port, python: Self.python ?? "python3")
        }
        try await server.start()
        do {
            try await body(port, server)
        } catch {
            try? await server.stop()
            throw error
        }
        try? await server.stop()
    }
}

protocol EchoServer: Sendable {
    /// The service itself, when it runs in this process.
    var echo: EchoService? { get }
    func start() async throws
    func stop() async throws
}

/// The Echo service on grpc-swift-2's server over `Transport`: grpc-swift-nio-transport's, or the
/// one every Atelier service listens on (`FrameServerTransport`).
final class SwiftEchoServer<Transport: ServerTransport>: EchoServer, @unchecked Sendable {
    let port: Int
    let service = EchoService()
    private let makeTransport: @Sendable (Int) -> Transport
    private let listening: @Sendable (Transport) async throws -> Void
    private var server: GRPCServer<Transport>?
    private var task: Task<Void, any Error>?

    init(port: Int, transport: @escaping @Sendable (Int) -> Transport, listening: @escaping @Sendable (Transport) async throws -> Void) {
        self.port = port
        self.makeTransport = transport
        self.listening = listening
    }

    var echo: EchoService? { service }

    func start() async throws {
        let transport = makeTransport(port)
        let server = GRPCServer(transport: transport, services: [service])
        self.server = server
        task = Task { try await server.serve() }
        try await listening(transport)
    }

    func stop() async throws {
        server?.beginGracefulShutdown()
        _ = try? await task?.value
        server = nil
    }
}

/// The Echo service on grpcio, run from `scripts/interop/grpcio_server.py`.
final class PythonEchoServer: EchoServer, @unchecked Sendable {
    let port: Int
    let python: String
    var echo: EchoService? { nil }
    private var process: Process?

    init(port: Int, python: String) {
        self.port = port
        self.python = python
    }

    func start() async throws {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("scripts/interop/grpcio_server.py").path
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [script, String(port)]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        self.process = process
        // "listening" once the port is bound.
        let handle = output.fileHandleForReading
        let line = await offCooperativePool { String(decoding: handle.availableData, as: UTF8.self) }
        guard line.contains("listening") else { throw RPCError(code: .unavailable, message: "grpcio server did not start: \(line)") }
    }

    func stop() async throws {
        guard let process else { return }
        process.terminate()
        await offCooperativePool { process.waitUntilExit() }
        self.process = nil
    }
}

/// Runs a blocking wait on a thread of its own: on the cooperative pool (two threads on a
/// two-core machine) a few of them at once would starve every other test.
private func offCooperativePool<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        Thread.detachNewThread { continuation.resume(returning: body()) }
    }
}
