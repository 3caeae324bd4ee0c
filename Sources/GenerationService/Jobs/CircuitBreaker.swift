import Synchronization

/// A provider's circuit breaker: after `threshold` failures in a row it opens for `openFor`,
/// and jobs wait instead of spending their attempts on a provider that is down; then one job
/// probes it (half open), and its success closes the breaker while its failure opens it again.
final class CircuitBreaker: Sendable {
    enum State: Sendable, Equatable {
        case closed(failures: Int)
        case open(until: ContinuousClock.Instant)
        case halfOpen
    }

    /// What a job may do now.
    enum Admission: Sendable, Equatable {
        case go
        /// The provider is resting: try again after this long.
        case wait(Duration)
    }

    private let threshold: Int
    private let openFor: Duration
    private let state = Mutex(State.closed(failures: 0))

    init(threshold: Int, openFor: Duration) {
        self.threshold = threshold
        self.openFor = openFor
    }

    var current: State { state.withLock { $0 } }

    func admit(now: ContinuousClock.Instant = .now) -> Admission {
        state.withLock { state in
            switch state {
            case .closed: return .go
            case .open(let until) where now >= until:
                state = .halfOpen  // this caller is the probe
                return .go
            case .open(let until): return .wait(until - now)
            case .halfOpen: return .wait(.seconds(1))  // a probe is out
            }
        }
    }

    func succeeded() {
        state.withLock { $0 = .closed(failures: 0) }
    }

    /// A failure that says the provider is unwell (not one about the request itself).
    func failed(now: ContinuousClock.Instant = .now) {
        state.withLock { state in
            switch state {
            case .closed(let failures) where failures + 1 >= threshold: state = .open(until: now + openFor)
            case .closed(let failures): state = .closed(failures: failures + 1)
            case .halfOpen, .open: state = .open(until: now + openFor)
            }
        }
    }
}
