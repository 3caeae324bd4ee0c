import AtelierProtos
import Foundation
import GRPCCore
import ServiceKit

extension CommerceRPC {
    /// The balances as of now, read without locking or writing (`WalletView`).
    public func getWallet(request: Atelier_Commerce_V1_GetWalletRequest, context: ServerContext) async throws -> Atelier_Commerce_V1_WalletResponse {
        let user = try subject(request.userID)
        let balances = try await WalletView.read(database, user: user, now: clock.now(), upkeep: upkeep).balances
        return .with {
            $0.userID = user
            $0.balances = balances
            $0.credits = balances.first { $0.asset == "credits" }?.available ?? 0
        }
    }

    /// The entries recorded so far, without locking or writing: an expiry that is due shows once
    /// the wallet's next movement or sweep records it.
    public func listLedgerEntries(request: Atelier_Commerce_V1_ListLedgerEntriesRequest, context: ServerContext) async throws -> Atelier_Commerce_V1_ListLedgerEntriesResponse {
        let user = try subject(request.userID)
        let page = try Page(limit: request.limit, offset: request.offset)
        if !request.asset.isEmpty, !prices.assets.contains(request.asset) {
            throw ServiceError.invalid("asset", "asset must be one of \(prices.assets.sorted().joined(separator: ", "))")
        }
        let found = try await LedgerEntries.page(database, user: user, asset: request.asset.isEmpty ? nil : request.asset, page: page,
                                                 after: try PageToken(request.pageToken))
        return .with {
            $0.entries = found.items.items
            $0.pagination = found.items.pagination
            $0.nextPageToken = found.next
        }
    }

    // Movements are for services only: the principal interceptor admits the roles proto/ names.

    public func grant(request: Atelier_Commerce_V1_GrantRequest, context: ServerContext) async throws -> Atelier_Commerce_V1_MovementResponse {
        try await ledger.grant(request, user: try subject(request.userID))
    }

    public func hold(request: Atelier_Commerce_V1_HoldRequest, context: ServerContext) async throws -> Atelier_Commerce_V1_MovementResponse {
        try await ledger.hold(request, user: try subject(request.userID))
    }

    public func settle(request: Atelier_Commerce_V1_SettleRequest, context: ServerContext) async throws -> Atelier_Commerce_V1_MovementResponse {
        try await ledger.settle(request, user: try subject(request.userID))
    }

    public func placeHolds(request: Atelier_Commerce_V1_PlaceHoldsRequest, context: ServerContext) async throws -> Atelier_Commerce_V1_PlaceHoldsResponse {
        let holds = try request.holds.map { (user: try subject($0.userID), request: $0) }
        let held = try await ledger.hold(batch: holds)
        return .with { $0.held = held }
    }

    public func settleHolds(request: Atelier_Commerce_V1_SettleHoldsRequest, context: ServerContext) async throws -> Atelier_Commerce_V1_SettleHoldsResponse {
        let settles = try request.settles.map { (user: try subject($0.userID), request: $0) }
        let settled = try await ledger.settle(batch: settles)
        return .with { $0.settled = settled }
    }

    public func release(request: Atelier_Commerce_V1_ReleaseRequest, context: ServerContext) async throws -> Atelier_Commerce_V1_MovementResponse {
        try await ledger.release(request, user: try subject(request.userID))
    }
}
