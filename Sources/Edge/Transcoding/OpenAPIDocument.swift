/// The OpenAPI 3.0 document of the REST API, made from the same routes and messages the
/// transcoder serves, so the two cannot disagree.
struct OpenAPIDocument {
    let schema: ProtoSchema
    let routes: [Route]
    let extraPaths: [(String, JSONValue)]

    func json() -> JSONValue {
        var schemas: [String: JSONValue] = [:]
        var pending: [String] = []
        var paths: [(String, [(String, JSONValue)])] = []

        func reference(_ messageName: String, suffix: String) -> JSONValue {
            let name = Self.componentName(messageName) + suffix
            if schemas[name] == nil {
                schemas[name] = .null
                pending.append(messageName + "|" + suffix)
            }
            return .object([("$ref", .string("#/components/schemas/\(name)"))])
        }

        for route in routes {
            let openAPIPath = route.template
            var operation: [(String, JSONValue)] = [
                ("operationId", .string(route.rpc.name)),
                ("tags", .array([.string(route.rpc.service.split(separator: ".").last.map(String.init) ?? route.rpc.service)])),
                ("summary", .string(route.rpc.comment.isEmpty ? route.rpc.name : route.rpc.comment)),
            ]
            if let limit = route.rateLimit {
                operation.append(("description", .string(
                    "Rate limit: \(limit.requests) requests per \(limit.perSeconds) seconds per \(route.isPublic ? "client address" : "user") "
                        + "(X-RateLimit-Limit, -Remaining and -Reset on every answer; 429 with Retry-After beyond).")))
            }
            var parameters: [JSONValue] = route.pathFields.map { name in
                let field = schema.messages[route.rpc.inputType]?.field(named: name)
                return .object([
                    ("name", .string(name)), ("in", .string("path")), ("required", .bool(true)),
                    ("schema", field.map { fieldSchema($0, input: true, reference: { reference($0, suffix: "Input") }) } ?? .object([("type", .string("string"))])),
                ])
            }
            if route.body != "*", let input = schema.messages[route.rpc.inputType] {
                for field in input.fields where !route.pathFields.contains(field.name) && field.jsonName != route.body {
                    if case .message(let name) = field.kind, !JSONShaper.isWellKnown(name) { continue }
                    parameters.append(.object([
                        ("name", .string(field.jsonName)), ("in", .string("query")), ("required", .bool(false)),
                        ("description", .string(field.comment)),
                        ("schema", fieldSchema(field, input: true, reference: { reference($0, suffix: "Input") })),
                    ] + (field.isRepeated ? [("style", .string("form")), ("explode", .bool(true))] : [])))
                }
            }
            if route.method == .post && !route.isPublic {
                parameters.append(.object([
                    ("name", .string(IdempotencyWindow.header)), ("in", .string("header")), ("required", .bool(false)),
                    ("description", .string(
                        "Makes a retry safe: a second request with the same key and body gets the first reply again "
                        + "(with `Idempotent-Replayed: true`) for a day. The same key with another request is 409 "
                        + "`IDEMPOTENCY_KEY_REUSED`; while the first is still running, 409 `IDEMPOTENCY_KEY_IN_USE`.")),
                    ("schema", .object([
                        ("type", .string("string")), ("minLength", .number("1")), ("maxLength", .number("255")),
                        ("pattern", .string("^[!-~]+$")),
                    ])),
                ]))
            }
            if !parameters.isEmpty { operation.append(("parameters", .array(parameters))) }
            if route.body == "*" {
                operation.append(("requestBody", .object([
                    ("required", .bool(false)),
                    ("content", .object([("application/json", .object([
                        ("schema", reference(route.rpc.inputType, suffix: "Input")),
                    ]))])),
                ])))
            }
            var responses: [(String, JSONValue)] = [
                (String(route.successStatus), .object([
                    ("description", .string("Success")),
                    ("content", .object([("application/json", .object([("schema", reference(route.rpc.outputType, suffix: ""))]))])),
                ])),
            ]
            let errors: [(String, String)] = [
                ("400", "Invalid input"), ("401", "Not signed in"), ("403", "Not allowed"), ("404", "Not found"),
                ("409", "Conflict"), ("413", "Body too large"), ("415", "Not JSON"), ("429", "Too many requests"),
                ("503", "A service is unavailable"), ("504", "A service took too long"),
            ]
            for (status, description) in errors {
                responses.append((status, Self.errorResponse(description)))
            }
            operation.append(("responses", .object(responses)))
            if !route.isPublic {
                operation.append(("security", .array([.object([("bearerAuth", .array([]))])])))
            }
            let verb = route.method.rawValue.lowercased()
            if let index = paths.firstIndex(where: { $0.0 == openAPIPath }) {
                paths[index].1.append((verb, .object(operation)))
            } else {
                paths.append((openAPIPath, [(verb, .object(operation))]))
            }
        }

        while let next = pending.popLast() {
            let parts = next.split(separator: "|", omittingEmptySubsequences: false)
            let messageName = String(parts[0])
            let isInput = parts[1] == "Input"
            guard let message = schema.messages[messageName] else { continue }
            var properties: [(String, JSONValue)] = []
            for field in message.fields {
                var property = fieldSchema(field, input: isInput, reference: { reference($0, suffix: isInput ? "Input" : "") })
                if !field.comment.isEmpty, case .object(var members) = property, members.first?.0 != "$ref" {
                    members.append(("description", .string(field.comment)))
                    property = .object(members)
                }
                properties.append((field.jsonName, property))
            }
            var object: [(String, JSONValue)] = [("type", .string("object")), ("properties", .object(properties))]
            if isInput {
                object.append(("additionalProperties", .bool(false)))
            } else if !message.fields.isEmpty {
                // Replies list every field, zero or not (DESIGN.md, "The wire").
                object.append(("required", .array(message.fields.map { .string($0.jsonName) })))
            }
            if !message.comment.isEmpty { object.append(("description", .string(message.comment))) }
            schemas[Self.componentName(messageName) + (isInput ? "Input" : "")] = .object(object)
        }
        schemas["Error"] = Self.errorSchema

        return .object([
            ("openapi", .string("3.0.3")),
            ("info", .object([
                ("title", .string("Atelier API")), ("version", .string("1.0.0")),
                ("description", .string("REST/JSON API of Atelier, transcoded from its gRPC services.")),
            ])),
            ("paths", .object(paths.map { ($0.0, .object($0.1)) } + extraPaths)),
            ("components", .object([
                ("schemas", .object(schemas.sorted { $0.key < $1.key }.map { ($0.key, $0.value) })),
                ("securitySchemes", .object([("bearerAuth", .object([
                    ("type", .string("http")), ("scheme", .string("bearer")),
                ]))])),
            ])),
        ])
    }

    private func fieldSchema(_ field: ProtoSchema.Field, input: Bool, reference: (String) -> JSONValue) -> JSONValue {
        let item: JSONValue
        switch field.kind {
        case .string: item = .object([("type", .string("string"))])
        case .bytes: item = .object([("type", .string("string")), ("format", .string("byte"))])
        case .bool: item = .object([("type", .string("boolean"))])
        case .double: item = .object([("type", .string("number"))])
        case .int32, .uint32: item = .object([("type", .string("integer")), ("format", .string("int32"))])
        case .int64, .uint64: item = .object([("type", .string("integer")), ("format", .string("int64"))])
        case .enumeration(let name):
            let values = schema.enums[name]?.values ?? []
            // Replies use the short names; requests accept them and the full proto names.
            let names = input ? values.map(\.restName) + values.map(\.protoName) : values.map(\.restName)
            item = .object([("type", .string("string")), ("enum", .array(names.map { .string($0) }))])
        case .message("google.protobuf.Timestamp"):
            item = .object([("type", .string("string")), ("format", .string("date-time"))])
        case .message(let name) where JSONShaper.isWellKnown(name):
            item = .object([])
        case .message(let name):
            if field.isMap, let valueField = schema.messages[name]?.fields.first(where: { $0.name == "value" }) {
                return .object([("type", .string("object")),
                                ("additionalProperties", fieldSchema(valueField, input: input, reference: reference))])
            }
            let ref = reference(name)
            if field.isRepeated { return .object([("type", .string("array")), ("items", ref)]) }
            // A message field absent from a reply reads null.
            return input ? ref : .object([("allOf", .array([ref])), ("nullable", .bool(true))])
        }
        if field.isRepeated { return .object([("type", .string("array")), ("items", item)]) }
        if (field.hasPresence || Self.isMessage(field)) && !input, case .object(var members) = item {
            members.append(("nullable", .bool(true)))
            return .object(members)
        }
        return item
    }

    private static func isMessage(_ field: ProtoSchema.Field) -> Bool {
        if case .message = field.kind { return true }
        return false
    }

    static func componentName(_ messageName: String) -> String {
        // atelier.auth.v1.User -> AuthUser; google.protobuf.X -> X
        let parts = messageName.split(separator: ".")
        if parts.count >= 4, parts[0] == "atelier" {
            return parts[1].prefix(1).uppercased() + parts[1].dropFirst() + parts[3...].joined(separator: "_")
        }
        return parts.map(String.init).joined(separator: "_")
    }

    static func errorResponse(_ description: String) -> JSONValue {
        .object([
            ("description", .string(description)),
            ("content", .object([("application/json", .object([
                ("schema", .object([("$ref", .string("#/components/schemas/Error"))])),
            ]))])),
        ])
    }

    static let errorSchema: JSONValue = .object([
        ("type", .string("object")),
        ("required", .array([.string("error")])),
        ("properties", .object([("error", .object([
            ("type", .string("object")),
            ("required", .array(["code", "message", "details", "retryAfter"].map { .string($0) })),
            ("properties", .object([
                ("code", .object([("type", .string("string"))])),
                ("message", .object([("type", .string("string"))])),
                ("details", .object([("type", .string("object")), ("additionalProperties", .object([("type", .string("string"))]))])),
                ("retryAfter", .object([("type", .string("integer")), ("nullable", .bool(true))])),
            ])),
        ]))])),
    ])
}
