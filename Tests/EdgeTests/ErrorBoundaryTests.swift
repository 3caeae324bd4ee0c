import AtelierProtos
import AtelierTestSupport
import Foundation
import GRPCCore
import GRPCProtobuf
import ServiceKit
import Testing

/// One way to fail: domain errors with standard details, everything else logged once at the
/// service boundary and answered INTERNAL, and a request id that follows the request.
@Suite("Errors at the service boundary")
struct ErrorBoundaryTests {
    @Test("a database failure inside an RPC is INTERNAL with a generic message, logged once with the RPC and request id",
          arguments: TestBackend.available)
    func databaseFailure(backend: TestBackend) async throws {
        let log = CapturedLog()
        try await TestStack.with(backend, services: [.catalog], logger: log.logger()) { stack in
            // The table explore reads its totals from is gone: the database errs, not the request.
            try await stack.database(.catalog).query("DROP TABLE public_counts")
            try await stack.withClient(.catalog) { grpc in
                let catalog = Atelier_Catalog_V1_CatalogService.Client(wrapping: grpc)
                var metadata = try stack.userMetadata(id: "user_1", sessionID: "s")
                metadata.addString("req-boundary-1", forKey: RequestID.metadataKey)
                let refused = await failure { try await catalog.exploreCharacters(.init(), metadata: metadata) }
                #expect(refused?.code == .internalError)
                #expect(refused?.message == "internal error", "no SQL or database text reaches the caller")
            }
            let lines = log.all.filter { $0.level >= .error }
            #expect(lines.count == 1, "\(lines.map(\.message))")
            #expect(lines.first?.metadata["rpc"] == "atelier.catalog.v1.CatalogService/ExploreCharacters")
            #expect(lines.first?.metadata["requestId"] == "req-boundary-1")
        }
    }

    @Test("a domain error carries google.rpc.Status details: ErrorInfo's reason, BadRequest's field", arguments: [TestBackend.sqlite])
    func standardDetails(backend: TestBackend) async throws {
        try await TestStack.with(backend, services: [.catalog]) { stack in
            try await stack.withClient(.catalog) { grpc in
                let catalog = Atelier_Catalog_V1_CatalogService.Client(wrapping: grpc)
                let metadata = try stack.userMetadata(id: "user_1", sessionID: "s")
                do {
                    _ = try await catalog.createHero(.with { $0.name = "Ada"; $0.age = 40; $0.traits = ["brave"]; $0.appearance = "tall" },
                                                     metadata: metadata)
                    Issue.record("an age of 40 was accepted")
                } catch let error as RPCError {
                    #expect(error.code == .invalidArgument)
                    let status = try #require(try error.unpackGoogleRPCStatus())
                    #expect(status.details.compactMap(\.errorInfo).first?.reason == "VALIDATION_FAILED")
                    #expect(status.details.compactMap(\.errorInfo).first?.domain == "atelier")
                    #expect(status.details.compactMap(\.badRequest).first?.violations.first?.field == "age")
                }
            }
        }
    }

    @Test("the edge keeps its JSON errors from the details, with REST field names, and echoes the request id",
          arguments: [TestBackend.sqlite])
    func edgeErrors(backend: TestBackend) async throws {
        try await TestStack.with(backend, edge: true) { stack in
            let (token, _) = try await stack.signUp("ada@example.com")
            let pack = try await stack.http("POST", "/api/payments/purchase-tokens", json: ["packId": "pack_7"], token: token,
                                            headers: [RequestID.headerName: "client-chosen-42"])
            #expect(pack.status == 400 && pack.errorCode == "VALIDATION_FAILED" && pack.errorField == "packId")
            #expect(pack.header(RequestID.headerName) == "client-chosen-42")
            let made = try await stack.http("GET", "/healthz", headers: [RequestID.headerName: "bad id with spaces"])
            let id = try #require(made.header(RequestID.headerName))
            #expect(id.hasPrefix("req_") && id != "bad id with spaces", "an unusable id is replaced")
        }
    }
}
