import GRPCCore
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOHTTP1

/// Turns every error into the JSON error format: the edge's own, a service's `RPCError`,
/// Hummingbird's `HTTPError` (unknown route, body too large), and anything else, which is
/// logged and shown as a bare 500 with no internals.
struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as EdgeError {
            return error.response
        } catch let error as RPCError {
            let edgeError = EdgeError(error)
            if edgeError.status.code >= 500 {
                logger.error("service call failed", metadata: [
                    "path": "\(request.uri.path)", "code": "\(error.code)", "error": "\(error.message)",
                ])
            }
            return edgeError.response
        } catch let error as HTTPError {
            return Self.translate(error, request: request).response
        } catch is NIOTooManyBytesError {
            // A body sent in chunks, with no Content-Length to refuse it by, grew past the limit.
            return EdgeError(status: .contentTooLarge, code: "PAYLOAD_TOO_LARGE", message: "request body is too large").response
        } catch let error as HTTPParserError {
            return EdgeError(status: .badRequest, code: "MALFORMED_REQUEST", message: "the HTTP request is malformed: \(error)").response
        } catch {
            logger.error("request failed", metadata: ["path": "\(request.uri.path)", "error": "\(String(reflecting: error))"])
            return EdgeError.internal("internal error").response
        }
    }

    static func translate(_ error: HTTPError, request: Request) -> EdgeError {
        switch error.status {
        case .notFound:
            EdgeError(status: .notFound, code: "ROUTE_NOT_FOUND", message: "no route for \(request.method) \(request.uri.path)")
        case .contentTooLarge:
            EdgeError(status: .contentTooLarge, code: "PAYLOAD_TOO_LARGE", message: "request body is too large")
        default:
            EdgeError(status: error.status, code: error.status.reasonPhrase.uppercased().replacingOccurrences(of: " ", with: "_"),
                      message: error.body ?? error.status.reasonPhrase)
        }
    }
}

/// Headers every response carries: HSTS, no framing, no MIME sniffing, no referrer leaks, and
/// no caching of personal data.
struct SecurityHeadersMiddleware<Context: RequestContext>: RouterMiddleware {
    static var frameOptions: HTTPField.Name { HTTPField.Name("X-Frame-Options")! }  // '!' is fine: a valid literal name.
    static var referrerPolicy: HTTPField.Name { HTTPField.Name("Referrer-Policy")! }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response = try await next(request, context)
        response.headers[.strictTransportSecurity] = "max-age=63072000; includeSubDomains"
        response.headers[Self.frameOptions] = "DENY"
        response.headers[.xContentTypeOptions] = "nosniff"
        response.headers[Self.referrerPolicy] = "no-referrer"
        if response.headers[.cacheControl] == nil { response.headers[.cacheControl] = "no-store" }
        return response
    }
}
