import AtelierProtos
import Foundation
import HTTPTypes
import Hummingbird
import ServiceKit

typealias GenerationMethods = Atelier_Generation_V1_GenerationService.Method

/// `GET /api/jobs/{job_id}/events`: a job's events as Server-Sent Events. Each event's `id:` is
/// its number, so a client that reconnects with `Last-Event-ID` (or `?lastEventId=`) gets only
/// what it missed; a comment every 15 s keeps proxies from closing a quiet stream; the stream
/// ends after the job's last event, and a finished job replays its events and ends.
struct JobEventStream: Sendable {
    static let path = "/api/jobs/{job_id}/events"
    static let keepAlive: Duration = .seconds(15)
    static let poll: Duration = .milliseconds(250)
    static let lastEventID = HTTPField.Name("Last-Event-ID")!  // '!' is fine: a valid field name.
    static let accelBuffering = HTTPField.Name("X-Accel-Buffering")!  // '!' is fine: a valid field name.

    let upstreams: Upstreams
    let sessions: SessionResolver

    func events(_ request: Request, _ context: some RequestContext) async throws -> Response {
        guard let token = Transcoder.bearerToken(request) else { throw EdgeError.unauthenticated }
        let session = try await sessions.resolve(token: token)
        let jobID = context.parameters.get("job_id").map { String($0) } ?? ""
        let resumeText = request.headers[Self.lastEventID] ?? request.uri.queryParameters["lastEventId"].map(String.init) ?? "0"
        guard let resume = Int64(resumeText), resume >= 0 else {
            throw EdgeError.invalidField("Last-Event-ID", "must be the number of the last event received")
        }
        // The job must be the caller's before anything streams: another user's job is 404.
        _ = try await upstreams.generation.call(GenerationMethods.GetJob.self, .with { $0.jobID = jobID }, metadata: session.metadata)

        let upstreams = self.upstreams, user = session.userID
        let body = ResponseBody { writer in
            var last = resume
            var quietSince = ContinuousClock.now
            while true {
                let page = try await upstreams.generation.call(GenerationMethods.ListJobEvents.self, .with {
                    $0.userID = user
                    $0.jobID = jobID
                    $0.afterSequence = last
                    $0.limit = 100
                }, metadata: try upstreams.asEdge())
                for event in page.events {
                    try await writer.write(ByteBuffer(string: Self.frame(event)))
                    last = event.sequence
                    quietSince = .now
                }
                if page.finished { break }
                if ContinuousClock.now - quietSince >= Self.keepAlive {
                    try await writer.write(ByteBuffer(string: ": keep-alive\n\n"))
                    quietSince = .now
                }
                if page.events.isEmpty { try await Task.sleep(for: Self.poll) }
            }
            try await writer.finish(nil)
        }
        return Response(status: .ok,
                        headers: [.contentType: "text/event-stream", .cacheControl: "no-store", Self.accelBuffering: "no"],
                        body: body)
    }

    /// One event: its number, its type, and the event as JSON.
    static func frame(_ event: Atelier_Generation_V1_JobEvent) -> String {
        let data = JSONValue.object([
            ("jobId", .string(event.jobID)), ("sequence", .number(String(event.sequence))), ("type", .string(event.type)),
            ("status", .string(event.status)), ("progress", .number(String(event.progress))), ("message", .string(event.message)),
            ("createdAt", .string(ISO8601DateFormatter().string(from: event.createdAt.date))),
        ])
        return "id: \(event.sequence)\nevent: \(event.type)\ndata: \(String(decoding: data.serialized(), as: UTF8.self))\n\n"
    }
}
