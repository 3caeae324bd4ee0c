import Foundation

/// Read access to a Stripe JSON object (an event or what it carries) by dotted path, tolerant
/// of where Stripe's API versions put a field: `parent.subscription_details.subscription` on
/// invoices since 2025, `subscription` before; periods on subscription items or the subscription.
struct StripeObject: @unchecked Sendable {
    let json: [String: Any]

    init(_ json: [String: Any]) { self.json = json }

    init?(data: [UInt8]) {
        guard let object = try? JSONSerialization.jsonObject(with: Data(data)) as? [String: Any] else { return nil }
        self.json = object
    }

    func value(_ path: String) -> Any? {
        var current: Any? = json
        for key in path.split(separator: ".") {
            if let index = Int(key), let array = current as? [Any] {
                current = index < array.count ? array[index] : nil
            } else {
                current = (current as? [String: Any])?[String(key)]
            }
        }
        return current is NSNull ? nil : current
    }

    func string(_ paths: String...) -> String? {
        for path in paths {
            if let text = value(path) as? String, !text.isEmpty { return text }
            // An expanded object in place of an id.
            if let object = value(path) as? [String: Any], let id = object["id"] as? String { return id }
        }
        return nil
    }

    func int(_ paths: String...) -> Int64? {
        for path in paths {
            if let number = Self.number(value(path)) { return Int64(number) }
        }
        return nil
    }

    func bool(_ path: String) -> Bool? {
        switch value(path) {
        case let flag as Bool: flag
        case let number as NSNumber: number.boolValue
        default: nil
        }
    }

    func date(_ paths: String...) -> Date? {
        for path in paths {
            if let seconds = Self.number(value(path)) { return Date(timeIntervalSince1970: seconds) }
        }
        return nil
    }

    /// JSONSerialization's numbers arrive as Int, Double or NSNumber depending on the platform.
    private static func number(_ value: Any?) -> Double? {
        switch value {
        case let int as Int: Double(int)
        case let int as Int64: Double(int)
        case let double as Double: double
        case let number as NSNumber: number.doubleValue
        default: nil
        }
    }

    func object(_ path: String) -> StripeObject? { (value(path) as? [String: Any]).map(StripeObject.init) }

    var periodStart: Date? { date("current_period_start", "items.data.0.current_period_start") }
    var periodEnd: Date? { date("current_period_end", "items.data.0.current_period_end") }
}
