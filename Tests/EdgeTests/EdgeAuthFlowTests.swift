import AtelierTestSupport
import Foundation
import ServiceKit
import Testing

/// Accounts and sessions through the edge over real HTTP, as the apps use them.
@Suite("Accounts over REST")
struct EdgeAuthFlowTests {
    static func signUp(_ stack: TestStack, _ email: String, password: String = "Quiet-River-42") async throws -> String {
        let reply = try await stack.http("POST", "/api/auth/signup", json: ["email": email, "password": password, "name": "Ada"])
        #expect(reply.status == 201, "\(reply.text)")
        return try #require((reply.json["session"] as? [String: Any])?["token"] as? String)
    }

    @Test("sign up, session, me, profile, log in and log out", arguments: TestBackend.available)
    func fullFlow(backend: TestBackend) async throws {
        try await TestStack.with(backend, edge: true) { stack in
            let signUp = try await stack.http("POST", "/api/auth/signup",
                                              json: ["email": "Ada@Example.com", "password": "Quiet-River-42", "name": "Ada"])
            #expect(signUp.status == 201)
            let user = try #require(signUp.json["user"] as? [String: Any])
            #expect(user["email"] as? String == "ada@example.com")
            #expect(user["emailVerified"] as? Bool == false)
            #expect(user["subscriptionTier"] as? String == "free")
            #expect(user["themePreference"] as? String == "system")
            let session = try #require(signUp.json["session"] as? [String: Any])
            let token = try #require(session["token"] as? String)
            #expect((session["expiresAt"] as? String)?.hasSuffix("Z") == true)

            let current = try await stack.http("GET", "/api/auth/session", token: token)
            #expect(current.status == 200)
            #expect((current.json["user"] as? [String: Any])?["preferredLanguage"] as? String == "en")
            #expect((current.json["session"] as? [String: Any])?["expiresAt"] != nil)
            #expect(try await stack.http("GET", "/api/auth/me", token: token).status == 200)

            // snake_case and camelCase are both accepted; replies are camelCase.
            let patch = try await stack.http("PATCH", "/api/user/profile", json: [
                "name": "Ada Lovelace", "preferred_language": "es", "themePreference": "light", "content_filter_level": "STRICT",
            ], token: token)
            #expect(patch.status == 200, "\(patch.text)")
            let patched = try #require(patch.json["user"] as? [String: Any])
            #expect(patched["preferredLanguage"] as? String == "es")
            #expect(patched["themePreference"] as? String == "light")
            #expect(patched["contentFilterLevel"] as? String == "strict")
            let profile = try await stack.http("GET", "/api/user/profile", token: token)
            #expect((profile.json["user"] as? [String: Any])?["name"] as? String == "Ada Lovelace")

            let login = try await stack.http("POST", "/api/auth/login", json: ["email": "ada@example.com", "password": "Quiet-River-42"])
            #expect(login.status == 200)
            let second = try #require((login.json["session"] as? [String: Any])?["token"] as? String)

            let logout = try await stack.http("POST", "/api/auth/logout", token: token)
            #expect(logout.status == 200)
            #expect(logout.json["success"] as? Bool == true)
            // Logging out through this edge takes effect at once, cache or not.
            let after = try await stack.http("GET", "/api/auth/session", token: token)
            #expect(after.status == 401)
            #expect(after.errorCode == "SESSION_INVALID")
            #expect(try await stack.http("GET", "/api/auth/session", token: second).status == 200)
        }
    }

    @Test("fields a client reads are present even when empty or zero", arguments: [TestBackend.sqlite])
    func presentFields(backend: TestBackend) async throws {
        try await TestStack.with(backend, edge: true) { stack in
            let reply = try await stack.http("POST", "/api/auth/signup", json: ["email": "b@example.com", "password": "Quiet-River-42"])
            let user = try #require(reply.json["user"] as? [String: Any])
            #expect(user.keys.contains("name"))
            #expect(user["name"] is NSNull)
            let token = try #require((reply.json["session"] as? [String: Any])?["token"] as? String)
            let revoke = try await stack.http("POST", "/api/auth/sessions/revoke-others", token: token)
            #expect(revoke.json["revoked"] as? Int == 0)
        }
    }

    @Test("the session route, answered from the edge's cache, shows the user's own changes at once",
          arguments: TestBackend.available)
    func readsOwnWrites(backend: TestBackend) async throws {
        try await TestStack.with(backend, edge: true) { stack in
            let token = try await Self.signUp(stack, "ada@example.com")
            let before = try await stack.http("GET", "/api/auth/session", token: token)
            #expect((before.json["user"] as? [String: Any])?["name"] as? String == "Ada")
            let patch = try await stack.http("PATCH", "/api/user/profile", json: ["name": "Countess"], token: token)
            #expect(patch.status == 200)
            for path in ["/api/auth/session", "/api/auth/me"] {
                let after = try await stack.http("GET", path, token: token)
                #expect((after.json["user"] as? [String: Any])?["name"] as? String == "Countess", "\(path)")
            }
            let badQuery = try await stack.http("GET", "/api/auth/session?x=1", token: token)
            #expect(badQuery.status == 400)
        }
    }

    @Test("a write to the catalog keeps the cached session; the next request needs no new principal",
          arguments: TestBackend.available)
    func catalogWriteKeepsSession(backend: TestBackend) async throws {
        try await TestStack.with(backend, edge: true) { stack in
            let token = try await Self.signUp(stack, "ada@example.com")
            #expect(try await stack.http("GET", "/api/auth/me", token: token).status == 200)  // now cached
            let created = try await stack.http("POST", "/api/characters", json: ["name": "Aria", "hairColor": "auburn"], token: token)
            #expect(created.status == 201)
            // A change behind the edge's back shows only once the cached session is dropped: after
            // the character was made, the edge still answers from the session it held.
            try await stack.database(.auth).query("UPDATE users SET name = 'Behind'")
            let after = try await stack.http("GET", "/api/auth/me", token: token)
            #expect((after.json["user"] as? [String: Any])?["name"] as? String == "Ada")
            // A write through auth drops it.
            #expect(try await stack.http("PATCH", "/api/user/profile", json: ["preferredLanguage": "fr"], token: token).status == 200)
            let dropped = try await stack.http("GET", "/api/auth/me", token: token)
            #expect((dropped.json["user"] as? [String: Any])?["name"] as? String == "Behind")
        }
    }

    @Test("sign out other sessions ends them at once through the edge", arguments: TestBackend.available)
    func revokeOthers(backend: TestBackend) async throws {
        try await TestStack.with(backend, edge: true) { stack in
            let first = try await Self.signUp(stack, "ada@example.com")
            let login = try await stack.http("POST", "/api/auth/login", json: ["email": "ada@example.com", "password": "Quiet-River-42"])
            let second = try #require((login.json["session"] as? [String: Any])?["token"] as? String)
            #expect(try await stack.http("GET", "/api/auth/me", token: first).status == 200)  // now cached
            let revoke = try await stack.http("POST", "/api/auth/sessions/revoke-others", token: second)
            #expect(revoke.json["revoked"] as? Int == 1)
            #expect(try await stack.http("GET", "/api/auth/me", token: first).status == 401)
            #expect(try await stack.http("GET", "/api/auth/me", token: second).status == 200)
        }
    }

    @Test("password reset and email verification work over REST", arguments: TestBackend.available)
    func recovery(backend: TestBackend) async throws {
        try await TestStack.with(backend, edge: true) { stack in
            _ = try await Self.signUp(stack, "ada@example.com")
            func token(_ kind: String) async throws -> String {
                try #require(try await stack.mailedToken(kind: kind))
            }
            let verify = try await stack.http("POST", "/api/auth/verify-email", json: ["token": try await token("verify_email")])
            #expect(verify.status == 200)
            #expect((verify.json["user"] as? [String: Any])?["emailVerified"] as? Bool == true)

            let request = try await stack.http("POST", "/api/auth/reset-password", json: ["email": "ada@example.com"])
            #expect(request.status == 200)
            #expect(request.json["success"] as? Bool == true)
            let unknown = try await stack.http("POST", "/api/auth/reset-password", json: ["email": "nobody@example.com"])
            #expect(unknown.status == 200)
            #expect(unknown.body == request.body)
            let confirm = try await stack.http("POST", "/api/auth/reset-password/confirm",
                                               json: ["token": try await token("reset_password"), "password": "New-Harbor-77"])
            #expect(confirm.status == 200)
            let login = try await stack.http("POST", "/api/auth/login", json: ["email": "ada@example.com", "password": "New-Harbor-77"])
            #expect(login.status == 200)
        }
    }

    @Test("deleting the account signs every session out", arguments: TestBackend.available)
    func deleteAccount(backend: TestBackend) async throws {
        try await TestStack.with(backend, edge: true) { stack in
            let token = try await Self.signUp(stack, "ada@example.com")
            let wrong = try await stack.http("DELETE", "/api/user/account", json: ["password": "Wrong-Password-1"], token: token)
            #expect(wrong.status == 403)
            let delete = try await stack.http("DELETE", "/api/user/account", json: ["password": "Quiet-River-42"], token: token)
            #expect(delete.status == 200)
            #expect(try await stack.http("GET", "/api/user/profile", token: token).status == 401)
            let login = try await stack.http("POST", "/api/auth/login", json: ["email": "ada@example.com", "password": "Quiet-River-42"])
            #expect(login.status == 401)
        }
    }

    @Test("repeated failed logins get 429 with Retry-After", arguments: TestBackend.available)
    func throttled(backend: TestBackend) async throws {
        try await TestStack.with(backend, edge: true, overrides: ["auth.login-max-failures": "3"]) { stack in
            _ = try await Self.signUp(stack, "ada@example.com")
            var statuses: [Int] = []
            for _ in 0..<4 {
                let reply = try await stack.http("POST", "/api/auth/login", json: ["email": "ada@example.com", "password": "Wrong-Password-1"])
                statuses.append(reply.status)
                if reply.status == 429 {
                    #expect(reply.header("Retry-After").flatMap(Int.init).map { $0 > 0 } == true)
                    #expect(reply.errorCode == "TOO_MANY_ATTEMPTS")
                    #expect((reply.json["error"] as? [String: Any])?["retryAfter"] as? Int != nil)
                }
            }
            #expect(statuses == [401, 401, 401, 429])
        }
    }

    @Test("unknown email and wrong password look the same over REST", arguments: [TestBackend.sqlite])
    func sameFailure(backend: TestBackend) async throws {
        try await TestStack.with(backend, edge: true) { stack in
            _ = try await Self.signUp(stack, "ada@example.com")
            let wrong = try await stack.http("POST", "/api/auth/login", json: ["email": "ada@example.com", "password": "Wrong-Password-1"])
            let unknown = try await stack.http("POST", "/api/auth/login", json: ["email": "x@example.com", "password": "Wrong-Password-1"])
            #expect(wrong.status == 401)
            #expect(wrong.status == unknown.status)
            #expect(wrong.body == unknown.body)
        }
    }
}
