import AtelierProtos
import Foundation
import ServiceKit
import SwiftProtobuf

/// Plans, token packs, operation costs and signup grants: data read from a JSON file in the shape
/// of `GetPricingResponse`, never code branches. The bundled `price-list.json` holds the seeds'
/// figures; `commerce.price-list` names another file.
public struct PriceList: Sendable {
    public static let freePlanID = "free"
    public typealias Document = Atelier_Commerce_V1_GetPricingResponse

    public let document: Document
    private let plansByID: [String: Atelier_Commerce_V1_Plan]
    private let packsByID: [String: Atelier_Commerce_V1_TokenPack]
    private let costsByOperation: [String: Atelier_Commerce_V1_OperationCost]
    /// Every asset the list mentions; grants and holds of any other asset are refused.
    public let assets: Set<String>

    public init(document: Document) throws {
        self.document = document
        plansByID = Dictionary(document.plans.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        packsByID = Dictionary(document.tokenPacks.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        costsByOperation = Dictionary(document.costs.map { ($0.operation, $0) }, uniquingKeysWith: { first, _ in first })
        var assets = Set(document.signupGrants.map(\.asset))
        for plan in document.plans { assets.formUnion(plan.allowances.map(\.asset)) }
        for cost in document.costs { assets.formUnion(cost.drawsFrom.map(\.asset)) }
        assets.insert("credits")
        self.assets = assets
        guard plansByID[Self.freePlanID] != nil else { throw Self.invalid("has no plan with id \"free\"") }
        for plan in document.plans {
            for allowance in plan.allowances where !["day", "month", "period"].contains(allowance.per) || allowance.amount <= 0 {
                throw Self.invalid("plan \(plan.id): allowance of \(allowance.asset) needs a positive amount per day, month or period")
            }
        }
        for pack in document.tokenPacks where pack.tokens <= 0 || pack.priceCents <= 0 {
            throw Self.invalid("token pack \(pack.id) needs positive tokens and price")
        }
    }

    /// The bundled list, or the file `path` names.
    public static func load(path: String?) throws -> PriceList {
        let url: URL
        if let path {
            url = URL(fileURLWithPath: path)
        } else {
            guard let bundled = Bundle.module.url(forResource: "price-list", withExtension: "json") else {
                throw invalid("the bundled price list is missing")
            }
            url = bundled
        }
        let data = try Data(contentsOf: url)
        do {
            return try PriceList(document: Document(jsonUTF8Data: data))
        } catch let error as ServiceError {
            throw error
        } catch {
            throw invalid("\(url.path) is not a price list: \(error)")
        }
    }

    public var freePlan: Atelier_Commerce_V1_Plan { plansByID[Self.freePlanID]! }  // '!' is fine: checked in init.

    public func plan(_ id: String) -> Atelier_Commerce_V1_Plan? { plansByID[id] }
    public func pack(_ id: String) -> Atelier_Commerce_V1_TokenPack? { packsByID[id] }
    public func cost(of operation: String) -> Atelier_Commerce_V1_OperationCost? { costsByOperation[operation] }

    private static func invalid(_ message: String) -> ServiceError {
        ServiceError(.internalError, reason: "PRICE_LIST_INVALID", "price list \(message)")
    }
}
