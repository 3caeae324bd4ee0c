import HTTPTypes
import Hummingbird
import ServiceKit

/// Gives every request an id: the client's `X-Request-Id` when it is usable, else a new one. The
/// request is served with it set (`RequestID.current`), so the edge's log lines and every call it
/// makes to a service carry it, and the reply echoes it, errors included.
struct RequestIDMiddleware<Context: RequestContext>: RouterMiddleware {
    static var header: HTTPField.Name { HTTPField.Name(RequestID.headerName)! }  // '!' is fine: a valid literal name.

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let id = RequestID.accept(request.headers[Self.header])
        var response = try await RequestID.$current.withValue(id) { try await next(request, context) }
        response.headers[Self.header] = id
        return response
    }
}
