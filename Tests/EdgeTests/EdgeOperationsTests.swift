import AtelierTestSupport
import Foundation
import ServiceKit
import Testing

@Suite("Probes, headers and the OpenAPI document")
struct EdgeOperationsTests {
    @Test("healthz is alive and readyz reports every service SERVING", arguments: [TestBackend.sqlite])
    func probes(backend: TestBackend) async throws {
        try await TestStack.with(backend, edge: true) { stack in
            #expect(try await stack.http("GET", "/healthz").status == 200)
            let ready = try await stack.http("GET", "/readyz")
            #expect(ready.status == 200)
            let services = try #require(ready.json["services"] as? [String: String])
            #expect(services == ["auth": "SERVING", "catalog": "SERVING", "generation": "SERVING", "commerce": "SERVING"])
        }
    }

    @Test("readyz is 503 when a service is down", arguments: [TestBackend.sqlite])
    func notReady(backend: TestBackend) async throws {
        try await TestStack.with(backend, services: [.auth, .catalog, .commerce], edge: true,
                                 overrides: ["generation.port": "1", "edge.call-timeout-seconds": "1"]) { stack in
            let ready = try await stack.http("GET", "/readyz")
            #expect(ready.status == 503)
            #expect((ready.json["services"] as? [String: String])?["generation"] == "UNREACHABLE")
        }
    }

    @Test("every response carries the security headers", arguments: [TestBackend.sqlite])
    func securityHeaders(backend: TestBackend) async throws {
        try await TestStack.with(backend, edge: true) { stack in
            for reply in [try await stack.http("GET", "/healthz"), try await stack.http("GET", "/api/nothing"),
                          try await stack.http("GET", "/api/auth/session")] {
                #expect(reply.header("Strict-Transport-Security")?.contains("max-age=") == true)
                #expect(reply.header("X-Frame-Options") == "DENY")
                #expect(reply.header("X-Content-Type-Options") == "nosniff")
            }
        }
    }

    @Test("CORS answers configured origins only", arguments: [TestBackend.sqlite])
    func cors(backend: TestBackend) async throws {
        try await TestStack.with(backend, edge: true, overrides: ["edge.cors-origins": "https://app.example.com"]) { stack in
            let preflight = try await stack.http("OPTIONS", "/api/auth/login", headers: [
                "Origin": "https://app.example.com", "Access-Control-Request-Method": "POST",
            ])
            #expect(preflight.status == 204)
            #expect(preflight.header("Access-Control-Allow-Origin") == "https://app.example.com")
            let allowed = try await stack.http("GET", "/healthz", headers: ["Origin": "https://app.example.com"])
            #expect(allowed.header("Access-Control-Allow-Origin") == "https://app.example.com")
            let other = try await stack.http("GET", "/healthz", headers: ["Origin": "https://evil.example.com"])
            #expect(other.header("Access-Control-Allow-Origin") == nil)
        }
    }

    @Test("the OpenAPI document lists every REST route of this issue", arguments: [TestBackend.sqlite])
    func openAPI(backend: TestBackend) async throws {
        try await TestStack.with(backend, edge: true) { stack in
            let document = try await stack.http("GET", "/openapi.json")
            #expect(document.status == 200)
            #expect(document.json["openapi"] as? String == "3.0.3")
            let paths = try #require(document.json["paths"] as? [String: [String: Any]])
            let expected: [(String, String)] = [
                ("/api/auth/signup", "post"), ("/api/auth/login", "post"), ("/api/auth/logout", "post"),
                ("/api/auth/session", "get"), ("/api/auth/me", "get"), ("/api/auth/verify-email", "post"),
                ("/api/auth/verify-email/resend", "post"), ("/api/auth/reset-password", "post"),
                ("/api/auth/reset-password/confirm", "post"), ("/api/auth/sessions/revoke-others", "post"),
                ("/api/user/profile", "get"), ("/api/user/profile", "patch"), ("/api/user/account", "delete"),
                ("/healthz", "get"), ("/readyz", "get"),
            ]
            for (path, method) in expected {
                #expect(paths[path]?[method] != nil, "\(method.uppercased()) \(path)")
            }
            let signUp = try #require(paths["/api/auth/signup"]?["post"] as? [String: Any])
            #expect((signUp["responses"] as? [String: Any])?["201"] != nil)
        }
    }
}

@Suite("Rate limits")
struct EdgeRateLimitTests {
    @Test("the sixth sign-up from one address within the hour is 429 with Retry-After", arguments: [TestBackend.sqlite])
    func signUpLimit(backend: TestBackend) async throws {
        try await TestStack.with(backend, edge: true, overrides: ["edge.rate-limits": "true"]) { stack in
            for index in 0..<5 {
                let reply = try await stack.http("POST", "/api/auth/signup",
                                                 json: ["email": "r\(index)@example.com", "password": "Quiet-River-42"])
                #expect(reply.status == 201)
            }
            let limited = try await stack.http("POST", "/api/auth/signup", json: ["email": "r9@example.com", "password": "Quiet-River-42"])
            #expect(limited.status == 429)
            #expect(limited.errorCode == "RATE_LIMITED")
            let retryAfter = try #require(limited.header("Retry-After").flatMap(Int.init))
            #expect(retryAfter > 0 && retryAfter <= 720)  // one token refills in 3600 s / 5
            // Other routes keep their own allowance.
            let login = try await stack.http("POST", "/api/auth/login", json: ["email": "r0@example.com", "password": "Quiet-River-42"])
            #expect(login.status == 200)
        }
    }

    @Test("signed-in routes count per user: two users behind one address each have their own, headers counting down",
          arguments: [TestBackend.sqlite])
    func perUser(backend: TestBackend) async throws {
        try await TestStack.with(backend, edge: true, overrides: ["edge.rate-limits": "true"]) { stack in
            let (first, _) = try await stack.signUp("first@example.com")
            let (second, _) = try await stack.signUp("second@example.com")
            func hero(_ token: String) async throws -> HTTPReply {
                try await stack.http("POST", "/api/heroes", json: ["name": "Ari", "age": 5, "traits": ["kind"], "appearance": "red boots"], token: token)
            }
            // POST /api/heroes: 10 a minute per user.
            var remaining: [Int] = []
            for _ in 0..<10 {
                let made = try await hero(first)
                #expect(made.status == 201, "\(made.text)")
                #expect(made.header("X-RateLimit-Limit") == "10")
                remaining.append(Int(made.header("X-RateLimit-Remaining") ?? "") ?? -1)
                #expect(Int(made.header("X-RateLimit-Reset") ?? "").map { $0 > 0 && $0 <= 60 } == true)
            }
            // Counting down (a slow machine may see a token refill on the way: one each 6 s).
            #expect(remaining.first == 9 && zip(remaining, remaining.dropFirst()).allSatisfy { $0 >= $1 - 1 } && remaining.last! <= 2, "\(remaining)")
            var limited = try await hero(first)
            for _ in 0..<10 where limited.status != 429 { limited = try await hero(first) }
            #expect(limited.status == 429 && limited.errorCode == "RATE_LIMITED", "\(limited.text)")
            #expect(limited.header("X-RateLimit-Remaining") == "0")
            let retryAfter = try #require(limited.header("Retry-After").flatMap(Int.init))
            #expect(retryAfter >= 1 && retryAfter <= 6, "one token refills in 60 s / 10: \(retryAfter)")
            // The same address, another user: a bucket of their own.
            let theirs = try await hero(second)
            #expect(theirs.status == 201 && theirs.header("X-RateLimit-Remaining") == "9", "\(theirs.text)")
            // An answer that is an error carries the headers too.
            let missing = try await stack.http("GET", "/api/heroes/hero_missing", token: second)
            #expect(missing.status == 404 && missing.header("X-RateLimit-Limit") == "100")
            // Before a session is looked up, one address may spend ten users' worth: made-up tokens
            // are refused by auth 50 times on a route of 5 an hour, then at the edge.
            var bogus: [Int] = []
            for index in 0..<51 {
                bogus.append(try await stack.http("POST", "/api/heroes/hero_x/avatar", json: [:], token: "made-up-\(index)").status)
            }
            #expect(bogus.prefix(50).allSatisfy { $0 == 401 } && bogus.last == 429, "\(bogus)")
            // Public routes count per address.
            let signUp = try await stack.http("POST", "/api/auth/signup", json: ["email": "third@example.com", "password": "Quiet-River-42"])
            #expect(signUp.header("X-RateLimit-Limit") == "5" && signUp.header("X-RateLimit-Remaining") == "2", "three sign-ups from here so far")
        }
    }

    @Test("behind a trusted proxy, clients are told apart by X-Forwarded-For and cannot forge their way out",
          arguments: [TestBackend.sqlite])
    func forwardedFor(backend: TestBackend) async throws {
        try await TestStack.with(backend, edge: true, overrides: ["edge.rate-limits": "true", "edge.trusted-proxies": "1"]) { stack in
            func reset(_ forwarded: String) async throws -> Int {
                try await stack.http("POST", "/api/auth/reset-password", json: ["email": "x@example.com"],
                                     headers: ["X-Forwarded-For": forwarded]).status
            }
            var statuses: [Int] = []
            for _ in 0..<6 { statuses.append(try await reset("203.0.113.1")) }
            statuses.append(try await reset("203.0.113.2"))
            // The proxy appends the address it saw; what the client wrote before it does not count.
            statuses.append(try await reset("198.51.100.7, 203.0.113.1"))
            #expect(statuses == [200, 200, 200, 200, 200, 429, 200, 429])
        }
    }
}
