import Foundation
@testable import GenerationService
import Testing

/// The PRD's cost bound (under $1.50 a Free user a month in AI costs), derived from the data the
/// services run on: commerce's price list (allowances, signup grants, what each operation draws
/// from) and generation's cost table, at the largest call each job makes. The README shows the
/// same arithmetic.
@Suite("The cost bound")
struct CostBoundTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    struct Plan {
        let id: String
        let priceCents: Int
        let allowances: [CostBound.Allowance]
    }

    static func priceList() throws -> (plans: [Plan], grants: [(asset: String, amount: Int64)], draws: [CostBound.Draw]) {
        let data = try Data(contentsOf: root.appendingPathComponent("Sources/CommerceService/Resources/price-list.json"))
        let list = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let plans = (list["plans"] as? [[String: Any]] ?? []).map { plan in
            Plan(id: plan["id"] as? String ?? "", priceCents: plan["priceCents"] as? Int ?? 0, allowances: (plan["allowances"] as? [[String: Any]] ?? []).map {
                CostBound.Allowance(asset: $0["asset"] as? String ?? "", amount: Int64($0["amount"] as? Int ?? 0), per: $0["per"] as? String ?? "")
            })
        }
        let grants = (list["signupGrants"] as? [[String: Any]] ?? []).map { ($0["asset"] as? String ?? "", Int64($0["amount"] as? Int ?? 0)) }
        let draws = (list["costs"] as? [[String: Any]] ?? []).flatMap { cost in
            (cost["drawsFrom"] as? [[String: Any]] ?? []).map {
                CostBound.Draw(operation: cost["operation"] as? String ?? "", asset: $0["asset"] as? String ?? "", amount: Int64($0["amount"] as? Int ?? 0))
            }
        }
        return (plans, grants, draws)
    }

    @Test("every operation the price list charges for has a worst-case cost")
    func everyOperationPriced() throws {
        let costs = try CostTable.load(path: nil)
        for draw in try Self.priceList().draws {
            #expect(CostBound.unitCost(draw.operation, routing: .production, costs: costs) != nil, "\(draw.operation)")
        }
    }

    @Test("Free's worst-case month stays under the PRD's $1.50, with any image provider; each plan's bound is derived")
    func freeUnderBound() throws {
        let costs = try CostTable.load(path: nil)
        let (plans, grants, draws) = try Self.priceList()
        let free = try #require(plans.first { $0.id == "free" })
        var geminiImages = CostBound.Routing.production
        geminiImages.image = ("gemini", "gemini-2.5-flash-image")
        var cheaperText = CostBound.Routing.production
        cheaperText.text = ("openai", "gpt-4o-mini")
        for routing in [CostBound.Routing.production, geminiImages, cheaperText] {
            let bound = CostBound.monthlyWorstCase(allowances: free.allowances, grants: grants, draws: draws, routing: routing, costs: costs)
            #expect(bound.usd < 1.50, "Free: \(bound.lines.map { "\($0.asset) \($0.units) × \($0.operation) $\($0.usdPerUnit)" })")
        }
        // The README's figures, at production routing with Gemini drawing (the dearest images).
        let bound = CostBound.monthlyWorstCase(allowances: free.allowances, grants: grants, draws: draws, routing: geminiImages, costs: costs)
        let lines = Dictionary(uniqueKeysWithValues: bound.lines.map { ($0.asset, $0) })
        #expect(abs((lines["stories"]?.usd ?? 0) - 10 * (0.005 + 0.018 + 0.06144)) < 1e-9)
        #expect(abs((lines["narrations"]?.usd ?? 0) - 3 * 0.06144) < 1e-9)
        #expect(abs((lines["avatars"]?.usd ?? 0) - (0.039 + 0.003 + 0.0045)) < 1e-9)
        #expect(abs((lines["images"]?.usd ?? 0) - 3 * 0.039) < 1e-9)
        #expect(abs((lines["credits"]?.usd ?? 0) - 3 * (0.005 + 0.018 + 0.06144)) < 1e-9, "a credit's dearest use is a narrated story")
        #expect(abs(bound.usd - 1.44554) < 0.00001, "\(bound.usd)")
        // Paid plans' larger allowances are bounded the same way, and by what the plan costs.
        for plan in plans where plan.id != "free" {
            let paid = CostBound.monthlyWorstCase(allowances: plan.allowances, grants: grants, draws: draws, routing: geminiImages, costs: costs)
            #expect(paid.usd > bound.usd && paid.usd < Double(plan.priceCents) / 100, "\(plan.id): \(paid.usd)")
        }
    }

    @Test("the cost table prices by the longest model name and never counts an unknown model low")
    func tablePrices() throws {
        let costs = try CostTable.load(path: nil)
        #expect(costs.usdPerUnit(provider: "openai", model: "gpt-4o-2024-08-06", unit: "output_tokens") == 0.000015)
        #expect(costs.usdPerUnit(provider: "openai", model: "gpt-4o-mini-2024-07-18", unit: "output_tokens") == 0.0000006)
        #expect(costs.usdPerUnit(provider: "openai", model: "tts-1-hd", unit: "characters") == 0.00003)
        #expect(costs.usdPerUnit(provider: "openai", model: "some-new-model", unit: "output_tokens") == 0.000015)
        #expect(costs.usdPerUnit(provider: "local", model: "espeak-ng", unit: "characters") == 0)
    }
}
