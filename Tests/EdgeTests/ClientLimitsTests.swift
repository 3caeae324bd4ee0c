import AtelierTestSupport
import Foundation
import ServiceKit
import Testing

/// What the edge does with clients that send too much, the wrong framing, or too little too slowly.
@Suite("Client limits at the edge")
struct ClientLimitsTests {
    static let small = ["edge.max-body-bytes": "2048"]
    static let fast = ["edge.idle-timeout-seconds": "1.5", "edge.header-timeout-seconds": "1.5"]

    @Test("a chunked body over the limit is 413 with the JSON error, like a Content-Length one", arguments: [TestBackend.sqlite])
    func chunkedTooLarge(backend: TestBackend) async throws {
        try await TestStack.with(backend, edge: true, overrides: Self.small) { stack in
            let connection = try await RawHTTPConnection.open(port: try #require(stack.edgePort))
            let chunk = String(repeating: "a", count: 1024)
            var request = "POST /api/auth/login HTTP/1.1\r\nHost: edge\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
            for _ in 0..<4 { request += "400\r\n\(chunk)\r\n" }
            request += "0\r\n\r\n"
            try await connection.send(request)
            let reply = try await connection.status(within: .seconds(10))
            #expect(reply.status == 413, "\(reply.text)")
            #expect(reply.text.contains("PAYLOAD_TOO_LARGE"))
            await connection.close()
        }
    }

    @Test("an unknown Transfer-Encoding is 400 with the JSON error", arguments: [TestBackend.sqlite])
    func unknownTransferEncoding(backend: TestBackend) async throws {
        try await TestStack.with(backend, edge: true, overrides: Self.small) { stack in
            let connection = try await RawHTTPConnection.open(port: try #require(stack.edgePort))
            try await connection.send("POST /api/auth/login HTTP/1.1\r\nHost: edge\r\nContent-Type: application/json\r\nTransfer-Encoding: gzip\r\n\r\nabc")
            let reply = try await connection.status(within: .seconds(10))
            #expect(reply.status == 400, "\(reply.text)")
            #expect(reply.text.contains("\"error\""))
            await connection.close()
        }
    }

    @Test("a connection that sends nothing is closed once the idle timeout passes", arguments: [TestBackend.sqlite])
    func idleClosed(backend: TestBackend) async throws {
        try await TestStack.with(backend, edge: true, overrides: Self.fast) { stack in
            let connection = try await RawHTTPConnection.open(port: try #require(stack.edgePort))
            let read = try await connection.read(within: .seconds(10))
            #expect(read.closed, "the edge kept an idle connection open")
            await connection.close()
        }
    }

    @Test("a head dripped a line at a time is cut off at the header timeout", arguments: [TestBackend.sqlite])
    func slowHeadClosed(backend: TestBackend) async throws {
        try await TestStack.with(backend, edge: true, overrides: Self.fast) { stack in
            let connection = try await RawHTTPConnection.open(port: try #require(stack.edgePort))
            let clock = ContinuousClock()
            let started = clock.now
            try await connection.send("GET /healthz HTTP/1.1\r\n")
            var closed = false
            for index in 0..<25 where !closed {
                try await Task.sleep(for: .milliseconds(400))
                do { try await connection.send("X-Drip-\(index): 1\r\n") } catch { closed = true }
            }
            let read: (text: String, closed: Bool) = closed ? ("", true) : try await connection.read(within: .seconds(3))
            #expect(closed || read.closed, "the edge waited for a head that never came")
            #expect(clock.now - started < .seconds(9), "the drip would have taken 10 s")
            await connection.close()
        }
    }

    @Test("a request that keeps its time is answered, and the connection stays for the next one", arguments: [TestBackend.sqlite])
    func keepAlive(backend: TestBackend) async throws {
        try await TestStack.with(backend, edge: true, overrides: Self.fast) { stack in
            let connection = try await RawHTTPConnection.open(port: try #require(stack.edgePort))
            try await connection.send("GET /healthz HTTP/1.1\r\nHost: edge\r\n\r\nGET /healthz HTTP/1.1\r\nHost: edge\r\n\r\n")
            let read = try await connection.read(within: .seconds(10))
            #expect(read.text.components(separatedBy: "HTTP/1.1 200").count == 3, "\(read.text)")
            #expect(read.closed, "and then closed once idle")
            await connection.close()
        }
    }
}
