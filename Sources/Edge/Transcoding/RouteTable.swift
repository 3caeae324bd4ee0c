import AtelierProtos
import HTTPTypes

/// One REST route, read from an RPC's `google.api.http` rule and `atelier.api.v1.route` options.
struct Route: Sendable {
    let method: HTTPRequest.Method
    /// The rule's template: `/api/heroes/{id}`.
    let template: String
    /// Field names bound from the path, in order.
    let pathFields: [String]
    /// "*" for the whole body, a field name, or "" for none.
    let body: String
    let rpc: ProtoSchema.Method
    let isPublic: Bool
    let successStatus: Int
    let sessionEffect: Atelier_Api_V1_SessionEffect
    /// Answered from the caller's validated session, without a call (`answered_from_session`).
    let answeredFromSession: Bool
    /// Per client address, from the `rate_limit` option.
    let rateLimit: Atelier_Api_V1_RateLimit?

    /// The template in Hummingbird's router syntax: `/api/heroes/:id`.
    var routerPath: String {
        template.split(separator: "/", omittingEmptySubsequences: false).map { segment in
            segment.hasPrefix("{") && segment.hasSuffix("}") ? ":" + fieldName(segment) : String(segment)
        }.joined(separator: "/")
    }

    private func fieldName(_ segment: Substring) -> String {
        // `{name}` or `{name=*}`: the variable is the part before '='.
        String(segment.dropFirst().dropLast().split(separator: "=").first ?? "")
    }
}

enum RouteTable {
    /// Every route the API declares, including additional bindings.
    static func routes(in schema: ProtoSchema) throws -> [Route] {
        var routes: [Route] = []
        for method in schema.methods {
            guard let rule = method.http, !method.serverStreaming else { continue }
            for binding in [rule] + rule.additionalBindings {
                routes.append(try route(binding, method: method))
            }
        }
        return routes
    }

    private static func route(_ rule: Google_Api_HttpRule, method: ProtoSchema.Method) throws -> Route {
        let (verb, template): (HTTPRequest.Method, String)
        switch rule.pattern {
        case .get(let path): (verb, template) = (.get, path)
        case .post(let path): (verb, template) = (.post, path)
        case .put(let path): (verb, template) = (.put, path)
        case .patch(let path): (verb, template) = (.patch, path)
        case .delete(let path): (verb, template) = (.delete, path)
        case .custom(let pattern):
            guard let custom = HTTPRequest.Method(pattern.kind) else {
                throw EdgeError.internal("\(method.name): unknown HTTP method \(pattern.kind)")
            }
            (verb, template) = (custom, pattern.path)
        case nil:
            throw EdgeError.internal("\(method.service)/\(method.name) has an HTTP rule without a path")
        }
        let pathFields = template.split(separator: "/").compactMap { segment -> String? in
            guard segment.hasPrefix("{"), segment.hasSuffix("}") else { return nil }
            return String(segment.dropFirst().dropLast().split(separator: "=").first ?? "")
        }
        return Route(
            method: verb, template: template, pathFields: pathFields, body: rule.body, rpc: method,
            isPublic: method.route.access == .public,
            successStatus: method.route.successStatus == 0 ? 200 : Int(method.route.successStatus),
            sessionEffect: method.route.sessionEffect,
            answeredFromSession: method.route.answeredFromSession && !method.route.access.isPublic,
            rateLimit: method.route.hasRateLimit && method.route.rateLimit.requests > 0 ? method.route.rateLimit : nil)
    }
}

extension Atelier_Api_V1_Access {
    var isPublic: Bool { self == .public }
}
