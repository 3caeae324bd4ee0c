import Foundation

/// Where a service reads the time. Production reads the system clock; tests give a clock they
/// move themselves, so a rule about expiry is checked without sleeping and hoping.
public struct ServiceClock: Sendable {
    private let read: @Sendable () -> Date

    public init(_ read: @escaping @Sendable () -> Date) { self.read = read }

    public static let system = ServiceClock { Date() }

    /// Now, to the microsecond the database keeps (see `Date.databaseNow`).
    public func now() -> Date { Date(microsecondsSince1970: read().microsecondsSince1970) }
}
