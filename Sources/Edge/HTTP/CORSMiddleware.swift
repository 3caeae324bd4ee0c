import Hummingbird

/// CORS for the browser apps listed in `edge.cors-origins` (comma-separated, or `*`). Preflight
/// requests are answered here; without configured origins no CORS header is ever sent.
struct AllowedOriginsMiddleware<Context: RequestContext>: RouterMiddleware {
    let origins: Set<String>
    let allowsAny: Bool

    init(origins: [String]) {
        self.allowsAny = origins.contains("*")
        self.origins = Set(origins)
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let origin = request.headers[.origin], allowsAny || origins.contains(origin) else {
            return try await next(request, context)
        }
        if request.method == .options, request.headers[.accessControlRequestMethod] != nil {
            var headers = HTTPFields()
            apply(origin: origin, to: &headers)
            headers[.accessControlAllowMethods] = "GET, POST, PUT, PATCH, DELETE, OPTIONS"
            headers[.accessControlAllowHeaders] = "Authorization, Content-Type, Idempotency-Key"
            headers[.accessControlMaxAge] = "600"
            return Response(status: .noContent, headers: headers)
        }
        var response = try await next(request, context)
        apply(origin: origin, to: &response.headers)
        response.headers[.accessControlExposeHeaders] = "Retry-After"
        return response
    }

    private func apply(origin: String, to headers: inout HTTPFields) {
        headers[.accessControlAllowOrigin] = allowsAny ? "*" : origin
        if !allowsAny { headers[.vary] = "Origin" }
    }
}
