import AtelierTestSupport
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import ServiceKit
import Testing

/// The services' server transport (`FrameServerTransport`, under grpc-swift-2's `GRPCServer`)
/// as grpc-swift-2's own client calls it over grpc-swift-nio-transport: what grpcio and grpcurl
/// also reach (the test command's grpcio clients call the services through it too).
@Suite("The services' transport, called by grpc-swift-2's client")
struct FrameServerTests {
    private func withClient(_ body: (GRPCClient<HTTP2ClientTransport.Posix>, EchoService) async throws -> Void,
                            compression: CompressionAlgorithmSet = [.none]) async throws {
        try await EchoServerKind.frames.withServer { port, server in
            var config = HTTP2ClientTransport.Posix.Config.defaults
            config.compression.enabledAlgorithms = compression
            let transport = try HTTP2ClientTransport.Posix(target: .ipv4(address: "127.0.0.1", port: port),
                                                           transportSecurity: .plaintext, config: config)
            try await withGRPCClient(transport: transport) { client in
                try await body(client, try #require(server.echo))
            }
        }
    }

    private func call(_ client: GRPCClient<HTTP2ClientTransport.Posix>, _ method: String, _ text: String,
                      metadata: Metadata = [:], options: CallOptions = .defaults) async throws -> ([UInt8], Metadata) {
        try await client.unary(request: ClientRequest(message: Array(text.utf8), metadata: metadata), descriptor: EchoService.method(method),
                               serializer: RawBytes(), deserializer: RawBytes(), options: options) { response in
            (try response.message, response.metadata)
        }
    }

    @Test("unary calls answer with their replies and metadata, many at once on one connection")
    func unary() async throws {
        try await withClient { client, _ in
            let (reply, metadata) = try await call(client, "Echo", "hello", metadata: ["x-test": "1"])
            #expect(reply == Array("hello".utf8))
            #expect(metadata[stringValues: "echo-count"].first(where: { _ in true }) == "5")
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<200 {
                    group.addTask {
                        let (reply, _) = try await call(client, "Echo", "call \(index)")
                        #expect(reply == Array("call \(index)".utf8))
                    }
                }
                try await group.waitForAll()
            }
        }
    }

    @Test("an error carries its code, its percent-encoded message and its details")
    func errorDetails() async throws {
        try await withClient { client, _ in
            do {
                _ = try await call(client, "Fail", "café 100%")
                Issue.record("Fail succeeded")
            } catch let error as RPCError {
                #expect(error.code == .invalidArgument)
                #expect(error.message == "refused: café 100%")
                let received = ServiceError(received: error)
                #expect(received.reason == "ECHO_REFUSED")
                #expect(received.field == "input")
            }
        }
    }

    @Test("the deadline travels as grpc-timeout and the server's executor keeps it")
    func deadline() async throws {
        try await withClient { client, _ in
            var options = CallOptions.defaults
            options.timeout = .milliseconds(300)
            let start = ContinuousClock.now
            await #expect(throws: RPCError.self) { _ = try await call(client, "Sleep", "3000", options: options) }
            #expect(ContinuousClock.now - start < .seconds(2))
            // A call within its deadline answers (a generous one: the tests run side by side).
            options.timeout = .seconds(10)
            let (slept, _) = try await call(client, "Sleep", "10", options: options)
            #expect(slept == Array("slept".utf8))
        }
    }

    @Test("a request above the limit is RESOURCE_EXHAUSTED, one of 3 MB arrives whole, and the connection goes on")
    func requestLimit() async throws {
        try await withClient { client, _ in
            let three = String(repeating: "a", count: 3_000_000)
            let (echoed, metadata) = try await call(client, "Echo", three)
            #expect(echoed.count == 3_000_000)
            #expect(metadata[stringValues: "echo-count"].first(where: { _ in true }) == "3000000")
            do {
                _ = try await call(client, "Echo", String(repeating: "b", count: 5 << 20))
                Issue.record("a 5 MiB request was accepted")
            } catch let error as RPCError {
                #expect(error.code == .resourceExhausted, "\(error)")
            }
            let (after, _) = try await call(client, "Big", "2000000")
            #expect(after.count == 2_000_000)
        }
    }

    @Test("a server-streaming call gets every message in order, then its status")
    func serverStreaming() async throws {
        try await withClient { client, _ in
            let received = try await client.serverStreaming(
                request: ClientRequest(message: Array("25".utf8)), descriptor: EchoService.method("Count"),
                serializer: RawBytes(), deserializer: RawBytes(), options: .defaults
            ) { response in
                var texts: [String] = []
                for try await message in response.messages { texts.append(String(decoding: message, as: UTF8.self)) }
                return texts
            }
            #expect(received == (1...25).map(String.init))
        }
    }

    @Test("an unknown method is UNIMPLEMENTED; a compressed request is refused naming the encodings")
    func refusals() async throws {
        try await withClient({ client, _ in
            await #expect(throws: RPCError.self) {
                do { _ = try await call(client, "Nope", "x") } catch let error as RPCError {
                    #expect(error.code == .unimplemented)
                    throw error
                }
            }
            var options = CallOptions.defaults
            options.compression = .gzip
            do {
                _ = try await call(client, "Echo", "squeezed", options: options)
                Issue.record("a gzip request was accepted")
            } catch let error as RPCError {
                #expect(error.code == .unimplemented, "\(error)")
            }
            let (plain, _) = try await call(client, "Echo", "plain")
            #expect(plain == Array("plain".utf8))
        }, compression: .all)
    }

    @Test("a call the client abandons is cancelled on the server, which goes on serving")
    func cancellation() async throws {
        try await withClient { client, service in
            let before = service.sleepsBegun
            let task = Task { try await call(client, "Sleep", "5000") }
            while service.sleepsBegun == before { try await Task.sleep(for: .milliseconds(5)) }
            task.cancel()
            await #expect(throws: (any Error).self) { _ = try await task.value }
            let (reply, _) = try await call(client, "Echo", "still here")
            #expect(reply == Array("still here".utf8))
        }
    }
}

/// What the transport answers a request that is not gRPC at all, as HTTP/2 clients other than
/// gRPC's send it (curl, with HTTP/2 from the first byte).
@Suite("The services' transport, called by plain HTTP/2")
struct FrameServerHTTP2Tests {
    @Test("a POST without gRPC's content type is 415; one with it reaches the method")
    func contentType() async throws {
        try await EchoServerKind.frames.withServer { port, _ in
            let url = "http://127.0.0.1:\(port)/\(EchoService.service)/Echo"
            #expect(try await curl(["-H", "content-type: text/plain", "--data-binary", "x", url]).status == "415")
            // A gRPC request by hand: the five-byte prefix and "hi"; 200 with the echo in the body.
            let answer = try await curl(["-H", "content-type: application/grpc", "-H", "te: trailers",
                                         "--data-binary", "@-", url], input: [0, 0, 0, 0, 2] + Array("hi".utf8))
            #expect(answer.status == "200")
            #expect(answer.body == [0, 0, 0, 0, 2] + Array("hi".utf8))
        }
    }

    /// The HTTP status and the body of a POST over HTTP/2 without TLS, by curl.
    private func curl(_ arguments: [String], input: [UInt8] = []) async throws -> (status: String, body: [UInt8]) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        process.arguments = ["-s", "--http2-prior-knowledge", "-w", "%{http_code}", "-X", "POST"] + arguments
        let stdin = Pipe(), stdout = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        try process.run()
        stdin.fileHandleForWriting.write(Data(input))
        try stdin.fileHandleForWriting.close()
        let output: [UInt8] = await withCheckedContinuation { continuation in
            Thread.detachNewThread {
                let output = stdout.fileHandleForReading.readDataToEndOfFile()
                process.waitUntilExit()
                continuation.resume(returning: Array(output))
            }
        }
        // The body, then the three digits of `-w`.
        return (String(decoding: output.suffix(3), as: UTF8.self), Array(output.dropLast(3)))
    }
}
