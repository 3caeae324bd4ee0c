import AtelierProtos
import Foundation
import GRPCCore
import ServiceKit

extension CommerceRPC {
    public func getWallet(request: Atelier_Commerce_V1_GetWalletRequest, context: ServerContext) async throws -> Atelier_Commerce_V1_WalletResponse {
        let user = try subject(request.userID)
        // Opening the wallet expires what is due and grants today's allowance, so the figures are current.
        let balances = try await database.transaction { tx in
            let now = Date.databaseNow
            try await wallets.open(tx, user: user, now: now)
            return try await wallets.balances(tx, user: user, now: now)
        }
        return .with {
            $0.userID = user
            $0.balances = balances
            $0.credits = balances.first { $0.asset == "credits" }?.available ?? 0
        }
    }

    public func listLedgerEntries(request: Atelier_Commerce_V1_ListLedgerEntriesRequest, context: ServerContext) async throws -> Atelier_Commerce_V1_ListLedgerEntriesResponse {
        let user = try subject(request.userID)
        let (limit, offset) = try Self.page(limit: request.limit, offset: request.offset)
        if !request.asset.isEmpty, !prices.assets.contains(request.asset) {
            throw ServiceError.invalid("asset", "asset must be one of \(prices.assets.sorted().joined(separator: ", "))")
        }
        try await database.transaction { tx in try await wallets.open(tx, user: user, now: Date.databaseNow) }
        let page = try await LedgerEntries.page(database, user: user, asset: request.asset.isEmpty ? nil : request.asset,
                                                limit: limit, offset: offset)
        return .with {
            $0.entries = page.entries
            $0.total = Int32(page.total)
            $0.limit = Int32(limit)
            $0.offset = Int32(offset)
        }
    }

    public func grant(request: Atelier_Commerce_V1_GrantRequest, context: ServerContext) async throws -> Atelier_Commerce_V1_MovementResponse {
        _ = try Caller.service()
        return try await ledger.grant(request, user: try subject(request.userID))
    }

    public func hold(request: Atelier_Commerce_V1_HoldRequest, context: ServerContext) async throws -> Atelier_Commerce_V1_MovementResponse {
        _ = try Caller.service()
        return try await ledger.hold(request, user: try subject(request.userID))
    }

    public func settle(request: Atelier_Commerce_V1_SettleRequest, context: ServerContext) async throws -> Atelier_Commerce_V1_MovementResponse {
        _ = try Caller.service()
        return try await ledger.settle(request, user: try subject(request.userID))
    }

    public func release(request: Atelier_Commerce_V1_ReleaseRequest, context: ServerContext) async throws -> Atelier_Commerce_V1_MovementResponse {
        _ = try Caller.service()
        return try await ledger.release(request, user: try subject(request.userID))
    }
}
