import Foundation

/// The most a plan's month can cost in provider calls (DESIGN.md, "Cost control"): each allowance
/// spent in full on the dearest operation it pays for, each one-time grant (signup credits)
/// likewise, at the worst-case size of each call. The sizes are the limits the jobs enforce:
/// a story asks for at most `storyOutputTokens`, a narration unit is one speech call of at most
/// 4,096 characters (a longer text takes one unit per part), scene extraction reads at most
/// `sceneTextCharacters` of the story.
public enum CostBound {
    public static let storyInputTokens = 1_000
    public static let storyOutputTokens = 1_200
    public static let profileInputTokens = 600
    public static let profileOutputTokens = 300
    public static let sceneTextCharacters = 12_000
    public static let sceneInputTokens = 3_300
    public static let sceneOutputTokens = 600
    public static let narrationPartCharacters = 4_096

    /// Which provider and model serve each capability.
    public struct Routing: Sendable {
        public var image: (provider: String, model: String)
        public var edit: (provider: String, model: String)
        public var video: (provider: String, model: String)
        public var text: (provider: String, model: String)
        public var speech: (provider: String, model: String)

        /// Every provider keyed, as production runs: Replicate draws, Gemini edits, OpenAI writes and speaks.
        public static let production = Routing(image: ("replicate", "sdxl"), edit: ("gemini", "gemini-2.5-flash-image"),
                                               video: ("replicate", "stable-video-diffusion"), text: ("openai", "gpt-4o"),
                                               speech: ("openai", "tts-1"))
    }

    public struct Allowance: Sendable {
        public let asset: String
        public let amount: Int64
        /// day, month or period (a subscription's month).
        public let per: String
        public init(asset: String, amount: Int64, per: String) { (self.asset, self.amount, self.per) = (asset, amount, per) }
    }

    public struct Draw: Sendable {
        public let operation: String
        public let asset: String
        public let amount: Int64
        public init(operation: String, asset: String, amount: Int64) { (self.operation, self.asset, self.amount) = (operation, asset, amount) }
    }

    public struct Line: Sendable {
        public let asset: String
        public let units: Int64
        public let operation: String
        public let usdPerUnit: Double
        public var usd: Double { Double(units) * usdPerUnit }
    }

    /// The most one unit of a price-list operation can cost; nil for an operation it does not know.
    public static func unitCost(_ operation: String, routing: Routing, costs: CostTable) -> Double? {
        func image(_ route: (provider: String, model: String)) -> Double { costs.usdPerUnit(provider: route.provider, model: route.model, unit: "images") }
        func text(_ input: Int, _ output: Int) -> Double {
            costs.cost(provider: routing.text.provider, model: routing.text.model, unit: "input_tokens", units: input)
                + costs.cost(provider: routing.text.provider, model: routing.text.model, unit: "output_tokens", units: output)
        }
        let speech = costs.cost(provider: routing.speech.provider, model: routing.speech.model, unit: "characters", units: narrationPartCharacters)
        switch operation {
        case "image": return max(image(routing.image), image(routing.edit))
        case "video_4s", "video_6s": return costs.usdPerUnit(provider: routing.video.provider, model: routing.video.model, unit: "videos")
        case "story": return text(storyInputTokens, storyOutputTokens) + speech
        case "narration": return speech
        case "avatar": return image(routing.image) + text(profileInputTokens, profileOutputTokens)
        case "illustration": return image(routing.image) + text(sceneInputTokens, sceneOutputTokens)
        default: return nil
        }
    }

    /// Each allowance's month (a daily one 31 times) and each one-time grant, spent on the dearest
    /// operation that draws from it.
    public static func monthlyWorstCase(allowances: [Allowance], grants: [(asset: String, amount: Int64)], draws: [Draw],
                                        routing: Routing, costs: CostTable) -> (usd: Double, lines: [Line]) {
        var lines: [Line] = []
        let sources = allowances.map { ($0.asset, $0.per == "day" ? $0.amount * 31 : $0.amount) } + grants.map { ($0.asset, $0.amount) }
        for (asset, units) in sources {
            let priced = draws.filter { $0.asset == asset && $0.amount > 0 }.compactMap { draw in
                unitCost(draw.operation, routing: routing, costs: costs).map { (draw.operation, $0 / Double(draw.amount)) }
            }
            guard let dearest = priced.max(by: { $0.1 < $1.1 }) else { continue }
            lines.append(Line(asset: asset, units: units, operation: dearest.0, usdPerUnit: dearest.1))
        }
        return (lines.reduce(0) { $0 + $1.usd }, lines)
    }
}
