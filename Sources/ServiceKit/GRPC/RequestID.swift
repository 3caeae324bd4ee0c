import GRPCCore

/// The id of the request being served, on every service it crosses: the edge takes it from the
/// client's `X-Request-Id` (or makes one), sends it in `x-request-id` metadata with every call,
/// and each service serves the call with it set, so every log line of one request names it
/// (`JSONLogHandler` adds it) and so does every call the service makes in turn.
public enum RequestID {
    public static let metadataKey = "x-request-id"
    public static let headerName = "X-Request-Id"

    @TaskLocal public static var current: String?

    /// A client's id when it is usable (1 to 128 visible ASCII characters), else a new one.
    public static func accept(_ given: String?) -> String {
        if let given, !given.isEmpty, given.utf8.count <= 128, given.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) { return given }
        return "req_" + SecureRandom.hex(12)
    }

    /// Adds the current request's id to the metadata of an outgoing call.
    public static func propagate(into metadata: inout Metadata) {
        if let current, metadata[stringValues: metadataKey].first(where: { _ in true }) == nil {
            metadata.addString(current, forKey: metadataKey)
        }
    }
}
