import AtelierProtos
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Hummingbird
import Logging
import ServiceKit
import SwiftProtobuf

/// A user's data across services, which no single RPC holds: `GET /api/user/export` gathers the
/// account from auth, everything from the catalog, the wallet, ledger, subscription and
/// payments from commerce, and the generation jobs; deleting the account (auth's DeleteAccount, transcoded as usual) is
/// followed by the purge of the user's data in the other services (`AccountPurger`).
struct AccountData: Sendable {
    static let exportPath = "/api/user/export"

    let upstreams: Upstreams
    let purger: AccountPurger
    let sessions: SessionResolver
    let shaper: JSONShaper

    func export(_ request: Request) async throws -> Response {
        guard let token = Transcoder.bearerToken(request) else { throw EdgeError.unauthenticated }
        let session = try await sessions.resolve(token: token)
        let asUser = session.metadata
        async let account = upstreams.auth.call(AuthMethods.GetProfile.self, .init(), metadata: asUser)
        async let items = catalogExport(user: session.userID)
        async let money = commerceJSON(asUser)
        async let jobs = generationJSON(user: session.userID)
        // What the user's provider calls cost, every month together (the report of GET /api/user/usage).
        async let usage = upstreams.generation.call(GenerationMethods.GetUsage.self, .with { $0.period = "all_time" }, metadata: asUser)
        let accountJSON = try shaped(try await account, as: "atelier.auth.v1.UserResponse")
        let catalogJSON = try shaped(try await items, as: "atelier.catalog.v1.CatalogExport")
        return Transcoder.json(.object([
            ("exportedAt", .string(ISO8601DateFormatter().string(from: Date()))),
            ("account", accountJSON),
            ("catalog", catalogJSON),
            ("commerce", try await money),
            ("generation", .object([("jobs", .array(try await jobs)), ("usage", try shaped(try await usage, as: "atelier.generation.v1.UsageReport"))])),
        ]), status: 200)
    }

    /// The user's whole catalog, merged from its pages (each well below a message's size limit).
    private func catalogExport(user: String) async throws -> Atelier_Catalog_V1_CatalogExport {
        var whole = Atelier_Catalog_V1_CatalogExport()
        var token = ""
        repeat {
            let page = try await upstreams.catalog.call(CatalogMethods.ExportUser.self, .with { $0.userID = user; $0.pageToken = token },
                                                    metadata: try upstreams.asEdge())
            // Merging appends every repeated field: each kind's rows, in the order they came.
            try whole.merge(serializedBytes: try page.items.serializedBytes() as [UInt8])
            token = page.nextPageToken
        } while !token.isEmpty
        return whole
    }

    /// The user's generation jobs, every page, oldest first.
    private func generationJSON(user: String) async throws -> [JSONValue] {
        try await Self.everyPage { token in
            let page = try await upstreams.generation.call(GenerationMethods.ExportUser.self, .with { $0.userID = user; $0.pageToken = token },
                                                       metadata: try upstreams.asEdge())
            return (try page.jobs.map { try shaped($0, as: "atelier.generation.v1.Job") }, page.nextPageToken)
        }
    }

    /// The caller's wallet, subscription, whole ledger and whole billing history, read through
    /// the same RPCs as their own routes, page by page.
    private func commerceJSON(_ asUser: Metadata) async throws -> JSONValue {
        async let wallet = upstreams.commerce.call(CommerceMethods.GetWallet.self, .init(), metadata: asUser)
        async let subscription = upstreams.commerce.call(CommerceMethods.GetSubscription.self, .init(), metadata: asUser)
        let ledger = try await Self.everyPage { token in
            let page = try await upstreams.commerce.call(CommerceMethods.ListLedgerEntries.self, .with { $0.limit = 100; $0.pageToken = token }, metadata: asUser)
            return (try page.entries.map { try shaped($0, as: "atelier.commerce.v1.LedgerEntry") }, page.nextPageToken)
        }
        let payments = try await Self.everyPage { token in
            let page = try await upstreams.commerce.call(CommerceMethods.ListBillingHistory.self, .with { $0.limit = 100; $0.pageToken = token }, metadata: asUser)
            return (try page.payments.map { try shaped($0, as: "atelier.commerce.v1.Payment") }, page.nextPageToken)
        }
        return .object([
            ("wallet", try shaped(try await wallet, as: "atelier.commerce.v1.WalletResponse")),
            ("subscription", try shaped(try await subscription, as: "atelier.commerce.v1.SubscriptionResponse")),
            ("ledger", .array(ledger)),
            ("payments", .array(payments)),
        ])
    }

    /// Runs the account deletion route, then the purge of what other services hold. Auth
    /// records the deleted account in the same step, so a purge that cannot finish now is
    /// finished by a later sweep (`AccountPurger`); the person's reply does not wait on it twice.
    func deleteAccount(_ request: Request, then transcoded: () async throws -> Response) async throws -> Response {
        guard let token = Transcoder.bearerToken(request) else { throw EdgeError.unauthenticated }
        let session = try await sessions.resolve(token: token)
        let response = try await transcoded()
        await purger.purge(user: session.userID, deletedAt: Date())
        return response
    }

    /// Every item of a paged list: pages from offset 0 until the list's total is reached.
    /// Every page of a list, following each page's token to the next.
    private static func everyPage(_ page: (_ token: String) async throws -> (items: [JSONValue], next: String)) async throws -> [JSONValue] {
        var items: [JSONValue] = []
        var token = ""
        repeat {
            let next = try await page(token)
            items += next.items
            token = next.next
        } while !token.isEmpty
        return items
    }

    private func shaped(_ message: some SwiftProtobuf.Message, as name: String) throws -> JSONValue {
        shaper.reply(try JSONParser.parse(Array(try message.jsonUTF8Bytes(options: Transcoder.encoding) as [UInt8])), as: name)
    }

    static var openAPIPaths: [(String, JSONValue)] {
        let export: JSONValue = .object([
            ("type", .string("object")),
            ("required", .array([.string("exportedAt"), .string("account"), .string("catalog"), .string("commerce"), .string("generation")])),
            ("properties", .object([
                ("exportedAt", .object([("type", .string("string")), ("format", .string("date-time"))])),
                // The account as GET /api/user/profile shows it; the catalog's characters, themes,
                // variants, collections, media, heroes, stories and custom events.
                ("account", .object([("$ref", .string("#/components/schemas/AuthUserResponse"))])),
                ("catalog", .object([("type", .string("object"))])),
                // The wallet, the subscription, every ledger entry and every payment.
                ("commerce", .object([("type", .string("object"))])),
                // Every generation job: what was asked, its state, cost and results.
                ("generation", .object([("type", .string("object"))])),
            ])),
        ])
        return [(exportPath, .object([("get", .object([
            ("operationId", .string("ExportUserData")),
            ("tags", .array([.string("Account")])),
            ("summary", .string("All of the caller's data, from every service, as JSON")),
            ("security", .array([.object([("bearerAuth", .array([]))])])),
            ("responses", .object([
                ("200", .object([("description", .string("The caller's data")),
                                 ("content", .object([("application/json", .object([("schema", export)]))]))])),
                ("401", OpenAPIDocument.errorResponse("Not signed in")),
                ("503", OpenAPIDocument.errorResponse("A service is unavailable")),
                ("504", OpenAPIDocument.errorResponse("A service took too long")),
            ])),
        ]))]))]
    }
}
