import Foundation
import ServiceKit

/// What a provider call costs: data (`cost-table.json`, or the file `generation.cost-table`
/// names), like the price list, never code branches. A price is per unit of one provider's model:
/// input or output tokens, characters spoken, images, videos.
public struct CostTable: Sendable {
    public struct Price: Codable, Sendable {
        public let provider: String
        /// The model's name, matched as a prefix of the model a provider reports
        /// ("gpt-4o" prices "gpt-4o-2024-08-06"); "*" prices every model of the provider.
        public let model: String
        /// input_tokens, output_tokens, characters, images, videos; "*" for every unit.
        public let unit: String
        public let usdPerUnit: Double
    }

    struct Document: Codable {
        let currency: String
        let prices: [Price]
    }

    public let prices: [Price]

    public init(prices: [Price]) throws {
        for price in prices where price.usdPerUnit < 0 || price.provider.isEmpty || price.model.isEmpty || price.unit.isEmpty {
            throw ConfigurationError.invalid(key: "generation.cost-table", value: "\(price.provider)/\(price.model)",
                                             expected: "a provider, model, unit and a price of zero or more")
        }
        self.prices = prices
    }

    /// The bundled table, or the file `path` names.
    public static func load(path: String?) throws -> CostTable {
        let url: URL
        if let path, !path.isEmpty {
            url = URL(fileURLWithPath: path)
        } else {
            guard let bundled = Bundle.module.url(forResource: "cost-table", withExtension: "json") else {
                throw ConfigurationError.invalid(key: "generation.cost-table", value: "(bundled)", expected: "the bundled cost table")
            }
            url = bundled
        }
        do {
            return try CostTable(prices: JSONDecoder().decode(Document.self, from: Data(contentsOf: url)).prices)
        } catch let error as ConfigurationError {
            throw error
        } catch {
            throw ConfigurationError.invalid(key: "generation.cost-table", value: url.path, expected: "a cost table: \(error)")
        }
    }

    /// US dollars per unit of `model`: the longest model name that prefixes it. A model the table
    /// does not know is priced as the provider's dearest for that unit, so a cost is never
    /// counted low.
    public func usdPerUnit(provider: String, model: String, unit: String) -> Double {
        let candidates = prices.filter { $0.provider == provider && ($0.unit == unit || $0.unit == "*") }
        let matching = candidates.filter { $0.model == "*" || model == $0.model || model.hasPrefix($0.model + "-") }
        if let best = matching.max(by: { Self.specificity($0) < Self.specificity($1) }) { return best.usdPerUnit }
        return candidates.map(\.usdPerUnit).max() ?? 0
    }

    public func cost(provider: String, model: String, unit: String, units: Int) -> Double {
        usdPerUnit(provider: provider, model: model, unit: unit) * Double(units)
    }

    private static func specificity(_ price: Price) -> Int { price.model == "*" ? 0 : price.model.count }
}
