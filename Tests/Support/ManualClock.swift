import Foundation
import ServiceKit
import Synchronization

/// A clock a test moves itself, for rules about time (expiry) checked without sleeping.
public final class ManualClock: Sendable {
    private let current: Mutex<Date>

    public init(_ start: Date = Date()) { current = Mutex(start) }

    public var now: Date { current.withLock { $0 } }

    public var serviceClock: ServiceClock { ServiceClock { self.now } }

    public func advance(_ seconds: TimeInterval) {
        current.withLock { $0 = $0.addingTimeInterval(seconds) }
    }
}
