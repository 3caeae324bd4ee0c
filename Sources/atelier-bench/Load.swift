/// Concurrent callers, each making one operation after another for a fixed time after a second
/// of warm-up; latencies are kept for the operations that started after the warm-up.
enum Load {
    struct Result: Sendable {
        let count: Int
        let elapsed: Double
        let latencies: [Double]
        let errors: Int

        var rate: Double { Double(count) / elapsed }

        func percentile(_ p: Double) -> Double {
            guard !latencies.isEmpty else { return 0 }
            return latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))]
        }
    }

    static func run(callers: Int, seconds: Double, _ operation: @escaping @Sendable (Int, Int) async throws -> Void) async throws -> Result {
        let clock = ContinuousClock()
        let warmUpEnd = clock.now + .seconds(1)
        let end = warmUpEnd + .seconds(seconds)
        let perCaller = try await withThrowingTaskGroup(of: ([Double], Int).self) { group in
            for caller in 0..<callers {
                group.addTask {
                    var latencies: [Double] = []
                    var errors = 0
                    var sequence = 0
                    while clock.now < end {
                        let start = clock.now
                        do { try await operation(caller, sequence) } catch { errors += 1 }
                        sequence += 1
                        if start >= warmUpEnd {
                            let taken = clock.now - start
                            latencies.append(Double(taken.components.seconds) * 1000 + Double(taken.components.attoseconds) / 1e15)
                        }
                    }
                    return (latencies, errors)
                }
            }
            return try await group.reduce(into: [([Double], Int)]()) { $0.append($1) }
        }
        let latencies = perCaller.flatMap(\.0).sorted()
        return Result(count: latencies.count, elapsed: seconds, latencies: latencies, errors: perCaller.map(\.1).reduce(0, +))
    }
}
