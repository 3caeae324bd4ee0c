import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A response from the edge, with its body parsed as JSON when it is JSON.
public struct HTTPReply: Sendable {
    public let status: Int
    public let headers: [String: String]
    public let body: Data

    public var json: [String: Any] {
        (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] ?? [:]
    }

    public var text: String { String(decoding: body, as: UTF8.self) }

    public func header(_ name: String) -> String? {
        headers.first { $0.key.lowercased() == name.lowercased() }?.value
    }

    /// `error.code` of a JSON error body.
    public var errorCode: String? { (json["error"] as? [String: Any])?["code"] as? String }

    /// `error.details.field`: the field an error names.
    public var errorField: String? { ((json["error"] as? [String: Any])?["details"] as? [String: Any])?["field"] as? String }

    /// A list in the reply, such as `heroes`.
    public func list(_ key: String) -> [[String: Any]] { json[key] as? [[String: Any]] ?? [] }
}

extension TestStack {
    /// Sends one request to the edge over real HTTP on loopback.
    public func http(
        _ method: String, _ path: String, json: Any? = nil, rawBody: Data? = nil, token: String? = nil,
        headers: [String: String] = [:]
    ) async throws -> HTTPReply {
        guard let edgePort, let url = URL(string: "http://127.0.0.1:\(edgePort)\(path)") else {
            throw URLError(.badURL)
        }
        var request = URLRequest(url: url)
        request.httpMethod = method
        if let json {
            request.httpBody = try JSONSerialization.data(withJSONObject: json)
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        } else if let rawBody {
            request.httpBody = rawBody
        }
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        let (data, response) = try await URLSession.shared.data(for: request)
        let http = response as? HTTPURLResponse
        var fields: [String: String] = [:]
        for (key, value) in http?.allHeaderFields ?? [:] {
            if let key = key as? String, let value = value as? String { fields[key] = value }
        }
        return HTTPReply(status: http?.statusCode ?? 0, headers: fields, body: data)
    }
}

extension TestStack {
    /// Signs a user up through the edge; returns their session token and user id.
    public func signUp(_ email: String, password: String = "Quiet-River-42") async throws -> (token: String, userID: String) {
        let reply = try await http("POST", "/api/auth/signup", json: ["email": email, "password": password, "name": "Ada"])
        guard reply.status == 201,
              let token = (reply.json["session"] as? [String: Any])?["token"] as? String,
              let user = (reply.json["user"] as? [String: Any])?["id"] as? String
        else { throw URLError(.badServerResponse, userInfo: [NSLocalizedDescriptionKey: "sign-up failed: \(reply.text)"]) }
        return (token, user)
    }
}
