import AtelierTestSupport
import Foundation
import ServiceKit
import Testing

/// Bad input gets a clear 4xx JSON error naming the problem: never a 500, never a crash.
@Suite("Bad input over REST")
struct EdgeBadInputTests {
    static func expectError(_ reply: HTTPReply, status: Int, code: String, field: String? = nil,
                            sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(reply.status == status, "\(reply.text)", sourceLocation: sourceLocation)
        #expect(reply.errorCode == code, "\(reply.text)", sourceLocation: sourceLocation)
        #expect(reply.header("Content-Type")?.hasPrefix("application/json") == true, sourceLocation: sourceLocation)
        let error = reply.json["error"] as? [String: Any]
        #expect((error?["message"] as? String)?.isEmpty == false, sourceLocation: sourceLocation)
        #expect(error?["details"] is [String: Any], sourceLocation: sourceLocation)
        #expect(error?.keys.contains("retryAfter") == true, sourceLocation: sourceLocation)
        if let field {
            #expect((error?["details"] as? [String: Any])?["field"] as? String == field, sourceLocation: sourceLocation)
        }
    }

    @Test("malformed JSON, wrong types, unknown fields and bad enums are 400s naming the problem",
          arguments: TestBackend.available)
    func malformed(backend: TestBackend) async throws {
        try await TestStack.with(backend, edge: true) { stack in
            let json = ["Content-Type": "application/json"]
            Self.expectError(try await stack.http("POST", "/api/auth/signup", rawBody: Data("{\"email\":".utf8), headers: json),
                             status: 400, code: "MALFORMED_JSON")
            Self.expectError(try await stack.http("POST", "/api/auth/signup", rawBody: Data("[1,2]".utf8), headers: json),
                             status: 400, code: "VALIDATION_FAILED", field: "body")
            Self.expectError(try await stack.http("POST", "/api/auth/signup", rawBody: Data("{\"a\":1,\"a\":2}".utf8), headers: json),
                             status: 400, code: "MALFORMED_JSON")
            Self.expectError(try await stack.http("POST", "/api/auth/signup", json: ["email": 42, "password": "Quiet-River-42"]),
                             status: 400, code: "VALIDATION_FAILED", field: "email")
            Self.expectError(try await stack.http("POST", "/api/auth/signup", json: ["email": ["x"], "password": "Quiet-River-42"]),
                             status: 400, code: "VALIDATION_FAILED", field: "email")
            Self.expectError(try await stack.http("POST", "/api/auth/signup",
                                                  json: ["email": "a@example.com", "password": "Quiet-River-42", "isAdmin": true]),
                             status: 400, code: "UNKNOWN_FIELD", field: "isAdmin")
            Self.expectError(try await stack.http("POST", "/api/auth/signup", json: ["email": "bad", "password": "Quiet-River-42"]),
                             status: 400, code: "VALIDATION_FAILED", field: "email")
            Self.expectError(try await stack.http("POST", "/api/auth/signup", rawBody: Data("email=a".utf8),
                                                  headers: ["Content-Type": "application/x-www-form-urlencoded"]),
                             status: 415, code: "UNSUPPORTED_MEDIA_TYPE")
            Self.expectError(try await stack.http("POST", "/api/auth/signup", rawBody: Data([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d]),
                                                  headers: json),
                             status: 400, code: "MALFORMED_JSON")
            let deep = String(repeating: "[", count: 200) + String(repeating: "]", count: 200)
            Self.expectError(try await stack.http("POST", "/api/auth/signup", rawBody: Data("{\"email\":\(deep)}".utf8), headers: json),
                             status: 400, code: "MALFORMED_JSON")

            let token = try await EdgeAuthFlowTests.signUp(stack, "ada@example.com")
            Self.expectError(try await stack.http("PATCH", "/api/user/profile", json: ["themePreference": "purple"], token: token),
                             status: 400, code: "VALIDATION_FAILED", field: "themePreference")
            Self.expectError(try await stack.http("PATCH", "/api/user/profile", json: ["preferredLanguage": "tlh"], token: token),
                             status: 400, code: "VALIDATION_FAILED", field: "preferredLanguage")
            Self.expectError(try await stack.http("GET", "/api/user/profile?bogus=1", token: token),
                             status: 400, code: "UNKNOWN_PARAMETER", field: "bogus")
        }
    }

    @Test("an oversized body is refused with 413 before it is read", arguments: [TestBackend.sqlite])
    func oversized(backend: TestBackend) async throws {
        try await TestStack.with(backend, edge: true, overrides: ["edge.max-body-bytes": "4096"]) { stack in
            let big = ["email": "a@example.com", "password": "Quiet-River-42", "name": String(repeating: "x", count: 10_000)]
            Self.expectError(try await stack.http("POST", "/api/auth/signup", json: big), status: 413, code: "PAYLOAD_TOO_LARGE")
        }
    }

    @Test("missing, malformed and forged tokens are 401s", arguments: TestBackend.available)
    func tokens(backend: TestBackend) async throws {
        try await TestStack.with(backend, edge: true) { stack in
            let missing = try await stack.http("GET", "/api/auth/session")
            Self.expectError(missing, status: 401, code: "UNAUTHENTICATED")
            #expect(missing.header("WWW-Authenticate") == "Bearer")
            Self.expectError(try await stack.http("GET", "/api/auth/session", headers: ["Authorization": "Basic YTpi"]),
                             status: 401, code: "UNAUTHENTICATED")
            Self.expectError(try await stack.http("GET", "/api/auth/session", token: "not-a-token"), status: 401, code: "SESSION_INVALID")
            Self.expectError(try await stack.http("GET", "/api/auth/session", token: String(repeating: "ab", count: 32)),
                             status: 401, code: "SESSION_INVALID")
            // A principal sent by a client is not a session token: the edge never trusts one.
            let forged = try stack.signer.user(id: "user_x", sessionID: "ses_x", plan: "pro", roles: ["admin"], lifetime: .seconds(60))
            Self.expectError(try await stack.http("GET", "/api/auth/session", token: forged), status: 401, code: "SESSION_INVALID")
            Self.expectError(try await stack.http("GET", "/api/auth/session", headers: ["x-atelier-principal": forged]),
                             status: 401, code: "UNAUTHENTICATED")
        }
    }

    @Test("unknown routes and methods are JSON 404s", arguments: [TestBackend.sqlite])
    func unknownRoutes(backend: TestBackend) async throws {
        try await TestStack.with(backend, edge: true) { stack in
            Self.expectError(try await stack.http("GET", "/api/nothing"), status: 404, code: "ROUTE_NOT_FOUND")
            Self.expectError(try await stack.http("GET", "/api/auth/signup"), status: 404, code: "ROUTE_NOT_FOUND")
        }
    }
}
