import Foundation

/// Configuration read from command-line flags over environment variables over defaults.
/// Keys are dotted (`auth.port`); the environment spells them `ATELIER_AUTH_PORT`. A missing
/// required value or one that does not parse is a thrown `ConfigurationError` naming the key.
public struct Configuration: Sendable {
    private let overrides: [String: String]
    private let environment: [String: String]

    public init(overrides: [String: String] = [:], environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.overrides = overrides
        self.environment = environment
    }

    public static func environmentName(_ key: String) -> String {
        "ATELIER_" + key.uppercased().map { $0 == "." || $0 == "-" ? "_" : $0 }.map(String.init).joined()
    }

    /// A copy with more flag values, which win over everything already present.
    public func overriding(_ values: [String: String]) -> Configuration {
        Configuration(overrides: overrides.merging(values) { $1 }, environment: environment)
    }

    public func string(_ key: String) -> String? {
        if let value = overrides[key] { return value }
        if let value = environment[Self.environmentName(key)], !value.isEmpty { return value }
        return nil
    }

    public func string(_ key: String, default defaultValue: String) -> String {
        string(key) ?? defaultValue
    }

    public func require(_ key: String) throws -> String {
        guard let value = string(key) else { throw ConfigurationError.missing(key: key) }
        return value
    }

    public func int(_ key: String, default defaultValue: Int, range: ClosedRange<Int> = Int.min...Int.max) throws -> Int {
        guard let raw = string(key) else { return defaultValue }
        guard let value = Int(raw.trimmingCharacters(in: .whitespaces)), range.contains(value) else {
            throw ConfigurationError.invalid(key: key, value: raw, expected: "an integer in \(range.lowerBound)...\(range.upperBound)")
        }
        return value
    }

    public func bool(_ key: String, default defaultValue: Bool) throws -> Bool {
        guard let raw = string(key) else { return defaultValue }
        switch raw.lowercased() {
        case "1", "true", "yes", "on": return true
        case "0", "false", "no", "off": return false
        default: throw ConfigurationError.invalid(key: key, value: raw, expected: "true or false")
        }
    }

    /// A duration in seconds, more than zero; fractions are allowed (`0.5`). Zero is refused: a
    /// sweep every 0 seconds spins, a call deadline of 0 fails every call.
    public func seconds(_ key: String, default defaultValue: Double) throws -> Duration {
        .milliseconds(Int64(try positiveSeconds(key, default: defaultValue) * 1000))
    }

    /// The same as a number of seconds.
    public func positiveSeconds(_ key: String, default defaultValue: Double) throws -> Double {
        guard let raw = string(key) else { return defaultValue }
        guard let value = Double(raw.trimmingCharacters(in: .whitespaces)), value > 0, value.isFinite, value <= 31_536_000 else {
            throw ConfigurationError.invalid(key: key, value: raw, expected: "a number of seconds, more than 0")
        }
        return value
    }
}

public enum ConfigurationError: Error, CustomStringConvertible, Equatable {
    case missing(key: String)
    case invalid(key: String, value: String, expected: String)

    public var description: String {
        switch self {
        case .missing(let key):
            "configuration key '\(key)' is required (flag or environment variable \(Configuration.environmentName(key)))"
        case .invalid(let key, let value, let expected):
            "configuration key '\(key)' has value '\(value)', expected \(expected)"
        }
    }
}
