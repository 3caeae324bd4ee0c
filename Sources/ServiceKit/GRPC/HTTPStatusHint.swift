/// A service's word on the HTTP status of a route whose success status depends on the outcome
/// (POST /api/stories: 201 with the story when it was written in time, 202 with the job when
/// not): a 2xx code in this response metadata entry replaces the route's usual one at the edge.
public enum HTTPStatusHint {
    public static let metadataKey = "x-atelier-http-status"
}
