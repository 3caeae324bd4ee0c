import AtelierProtos
import Foundation
import GRPCCore
import GRPCProtobuf
import Hummingbird
import NIOCore
import ServiceKit
import SwiftProtobuf

/// Serves REST routes by calling the RPCs their HTTP rules name: JSON body, path and query
/// parameters become the request message; the reply message becomes the JSON body. No route
/// has a handler of its own.
struct Transcoder: Sendable {
    let codec: MessageCodec
    /// A client per fully-qualified gRPC service name.
    let upstreams: [String: ServiceClient]
    let sessions: SessionResolver
    let servicePrincipal: ServicePrincipal
    let maxBodyBytes: Int
    let rateLimiter: RateLimiter?
    let idempotency: IdempotencyWindow

    private static let decoding: JSONDecodingOptions = {
        var options = JSONDecodingOptions()
        options.ignoreUnknownFields = false
        options.messageDepthLimit = 32
        return options
    }()

    /// Replies keep 64-bit numbers as JSON numbers (DESIGN.md, "The wire").
    static let encoding: JSONEncodingOptions = {
        var options = JSONEncodingOptions()
        options.alwaysPrintInt64sAsNumbers = true
        return options
    }()

    /// How many users' allowance one client address may spend on a signed-in route.
    static let usersPerAddress = 10

    var schema: ProtoSchema { codec.schema }
    var shaper: JSONShaper { codec.shaper }

    func handle(_ route: Route, request: Request, context: some RequestContext, client: String) async throws -> Response {
        // Who is calling: a signed-in user for most routes, the edge itself for public ones.
        var metadata = Metadata()
        var session: SessionResolver.Resolved?
        var token = ""
        if route.isPublic {
            metadata = try servicePrincipal.metadata()
        } else {
            guard let bearer = Self.bearerToken(request) else { throw EdgeError.unauthenticated }
            // Before the session is looked up, one address gets ten users' worth: a flood of made-up
            // tokens stops here instead of at auth.
            if let rateLimiter, let limit = route.rateLimit,
               let wait = rateLimiter.take("\(route.method) \(route.template) address:\(client)", requests: Int(limit.requests) * Self.usersPerAddress,
                                           perSeconds: Int(limit.perSeconds)).retryAfter {
                throw RateLimiter.refusal(wait: wait, from: " from this address")
            }
            token = bearer
            let resolved = try await sessions.resolve(token: bearer)
            metadata = resolved.metadata
            session = resolved
        }
        guard let rateLimiter, let limit = route.rateLimit else {
            return try await serve(route, request: request, context: context, client: client, metadata: metadata, session: session, token: token)
        }
        // Signed-in routes count per user, public ones per address (DESIGN.md, "Limits").
        let caller = session.map { "user:\($0.userID)" } ?? client
        return try await rateLimiter.guarded("\(route.method) \(route.template) \(caller)", requests: Int(limit.requests),
                                             perSeconds: Int(limit.perSeconds)) {
            try await serve(route, request: request, context: context, client: client, metadata: metadata, session: session, token: token)
        }
    }

    private func serve(_ route: Route, request: Request, context: some RequestContext, client: String, metadata: Metadata,
                       session: SessionResolver.Resolved?, token: String) async throws -> Response {
        var metadata = metadata
        // Auth counts failed logins per address: the edge says where the person is.
        metadata.addString(client, forKey: Caller.clientAddressKey)
        // A service that keeps its own idempotency (generation's submits) reads the client's key.
        if let key = request.headers[IdempotencyWindow.headerName], !key.isEmpty, key.utf8.count <= 200 {
            metadata.addString(key, forKey: "idempotency-key")
        }
        let input = try await requestJSON(route, request: request, context: context)
        if route.answeredFromSession, let session {
            return Self.json(shaper.reply(session.reply, as: route.rpc.outputType), status: route.successStatus)
        }
        guard let requestType = codec.types[route.rpc.inputType], let upstream = upstreams[route.rpc.service]
        else { throw EdgeError.internal("no upstream for \(route.rpc.service)/\(route.rpc.name)") }

        let message = try Self.decode(requestType, from: input.serialized())
        // A signed-in POST may carry an Idempotency-Key: a retry replays the first reply.
        var ticket: IdempotencyWindow.Ticket?
        if route.method == .post, let session,
           let key = try IdempotencyWindow.key(in: request.headers[IdempotencyWindow.headerName]) {
            let identity = Array(route.rpc.name.utf8) + [0] + (try message.serializedBytes() as [UInt8])
            switch try idempotency.claim(key: key, user: session.userID, request: identity) {
            case .replay(let reply):
                var response = Self.reply(reply.body, status: reply.status)
                response.headers[IdempotencyWindow.replayedName] = "true"
                return response
            case .run(let claimed):
                ticket = claimed
            }
        }
        do {
            let (json, hinted) = try await call(route, message: message, upstream: upstream, metadata: metadata, session: session, token: token)
            let status = hinted ?? route.successStatus
            if let ticket { idempotency.finish(ticket, with: .init(status: status, body: json)) }
            return Self.reply(json, status: status)
        } catch {
            if let ticket { idempotency.abandon(ticket) }
            throw error
        }
    }

    /// The services whose state a cached session holds: auth's user (profile, roles, content
    /// filter) and commerce's plan and entitlements. A user's write through either drops their
    /// cached session, so the next request sees the change; a write to the catalog or generation
    /// (a character, a job) changes nothing the session carries, and keeps it: a new principal
    /// after every write cost a ValidateSession, a GetEntitlements and an Ed25519 signature
    /// checked again by every service the next request reached.
    static let sessionSources: Set<String> = [ServiceName.auth.grpcService, ServiceName.commerce.grpcService]

    /// Calls the route's RPC and writes its reply as REST JSON, with the success status the
    /// service asked for instead of the route's (`HTTPStatusHint`), if it did.
    private func call(_ route: Route, message: any SwiftProtobuf.Message, upstream: ServiceClient, metadata: Metadata,
                      session: SessionResolver.Resolved?, token: String) async throws -> (json: [UInt8], status: Int?) {
        let (reply, sessionsEnded, hinted) = try await Self.call(
            message, method: MethodDescriptor(fullyQualifiedService: route.rpc.service, method: route.rpc.name),
            client: upstream, metadata: metadata)
        // A call that ended a user's sessions without naming them (a password reset) says whose.
        if let sessionsEnded { sessions.userChanged(sessionsEnded) }

        if let session {
            if route.sessionEffect != .unspecified {
                sessions.sessionsEnded(route.sessionEffect, token: token, userID: session.userID)
            } else if route.method != .get, Self.sessionSources.contains(route.rpc.service) {
                sessions.userChanged(session.userID)
            }
        }
        do {
            return (try codec.replies.json(reply, as: route.rpc.outputType), hinted)
        } catch {
            throw EdgeError(status: .badGateway, code: "BAD_UPSTREAM_REPLY",
                            message: "\(route.rpc.service) sent a reply the edge cannot read: \(error.message)")
        }
    }

    static func reply(_ json: [UInt8], status: Int) -> Response {
        Response(
            status: .init(code: status),
            headers: [.contentType: "application/json; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(bytes: json)))
    }

    static func json(_ value: JSONValue, status: Int) -> Response {
        reply(value.serialized(), status: status)
    }

    /// The request message as JSON: the body (all of it, one field of it, or none), then path
    /// parameters, then query parameters for routes without a whole-message body.
    private func requestJSON(_ route: Route, request: Request, context: some RequestContext) async throws -> JSONValue {
        let inputName = route.rpc.inputType
        guard let inputMessage = schema.messages[inputName] else { throw EdgeError.internal("unknown message \(inputName)") }
        var members: [(String, JSONValue)] = []

        if !route.body.isEmpty {
            let bytes = try await Self.readBody(request, limit: maxBodyBytes)
            if !bytes.isEmpty {
                if let type = request.headers[.contentType], !type.lowercased().hasPrefix("application/json") {
                    throw EdgeError(status: .unsupportedMediaType, code: "UNSUPPORTED_MEDIA_TYPE",
                                    message: "send the body as application/json")
                }
                let parsed: JSONValue
                do {
                    parsed = try JSONParser.parse(bytes)
                } catch {
                    throw EdgeError.malformedJSON("\(error.message) at byte \(error.offset)")
                }
                if route.body == "*" {
                    guard case .object(let given) = try shaper.request(parsed, as: inputName) else { throw EdgeError.internal("shape") }
                    members = given
                } else {
                    let wrapped = try shaper.request(.object([(route.body, parsed)]), as: inputName)
                    if case .object(let given) = wrapped { members = given }
                }
            }
        }

        func set(_ key: String, _ value: JSONValue) {
            members.removeAll { $0.0 == key }
            members.append((key, value))
        }

        for name in route.pathFields {
            guard let field = inputMessage.field(named: name) else { throw EdgeError.internal("unknown path field \(name)") }
            let raw = context.parameters.get(name).map { String($0) } ?? ""
            let text = raw.removingPercentEncoding ?? raw
            set(field.jsonName, try shaper.parameter(text, field: field, name: name))
        }

        var repeated: [String: [JSONValue]] = [:]
        for (key, value) in request.uri.queryParameters {
            let name = String(key)
            guard route.body != "*", let field = inputMessage.field(named: name), !route.pathFields.contains(field.name) else {
                throw EdgeError(status: .badRequest, code: "UNKNOWN_PARAMETER", message: "unknown query parameter '\(name)'", field: name)
            }
            let converted = try shaper.parameter(String(value), field: field, name: name)
            if field.isRepeated {
                repeated[field.jsonName, default: []].append(converted)
            } else {
                set(field.jsonName, converted)
            }
        }
        for (key, values) in repeated { set(key, .array(values)) }
        return .object(members)
    }

    /// The request body, or 413 when it is larger than `limit`.
    static func readBody(_ request: Request, limit: Int) async throws -> [UInt8] {
        if let length = request.headers[.contentLength].flatMap(Int.init), length > limit {
            throw EdgeError.payloadTooLarge(limit: limit)
        }
        do {
            let buffer = try await request.body.collect(upTo: limit)
            return Array(buffer.readableBytesView)
        } catch let error as HTTPError where error.status == .contentTooLarge {
            throw EdgeError.payloadTooLarge(limit: limit)
        } catch is NIOTooManyBytesError {
            // A chunked body has no Content-Length to refuse it by up front.
            throw EdgeError.payloadTooLarge(limit: limit)
        }
    }

    static func bearerToken(_ request: Request) -> String? {
        guard let header = request.headers[.authorization] else { return nil }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        let token = parts[1].trimmingCharacters(in: .whitespaces)
        return token.isEmpty ? nil : token
    }

    private static func decode<M: SwiftProtobuf.Message>(_ type: M.Type, from bytes: [UInt8]) throws -> M {
        do {
            return try M(jsonUTF8Bytes: bytes, options: decoding)
        } catch let error as JSONDecodingError {
            throw EdgeError(status: .badRequest, code: "VALIDATION_FAILED", message: "request does not match the API: \(error)")
        }
    }

    /// Calls the RPC and returns the reply's protobuf bytes as they came: ReplyWriter reads them.
    private static func call(
        _ request: some SwiftProtobuf.Message, method: MethodDescriptor, client: ServiceClient, metadata: Metadata
    ) async throws -> (bytes: [UInt8], sessionsEnded: String?, status: Int?) {
        let reply = try await client.callBytes(method, request, metadata: metadata)
        let status = reply.metadata[stringValues: HTTPStatusHint.metadataKey].first(where: { _ in true }).flatMap(Int.init)
        return (reply.message, reply.metadata[stringValues: SessionsEnded.metadataKey].first(where: { _ in true }),
                status.flatMap { (200..<300).contains($0) ? $0 : nil })
    }
}

/// How the transcoder reads requests and writes replies, all from one schema: the JSON shaping
/// both ways, the reply writer, and every message type by its protobuf name.
struct MessageCodec: Sendable {
    let schema: ProtoSchema
    let shaper: JSONShaper
    let replies: ReplyWriter
    let types: [String: any SwiftProtobuf.Message.Type]

    init(schema: ProtoSchema) {
        self.schema = schema
        shaper = JSONShaper(schema: schema)
        replies = ReplyWriter(schema: schema)
        types = Dictionary(atelierMessageTypes.map { ($0.protoMessageName, $0) }, uniquingKeysWith: { a, _ in a })
    }
}
