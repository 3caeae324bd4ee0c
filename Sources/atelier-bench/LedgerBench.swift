import ArgumentParser
import AtelierProtos
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import GRPCProtobuf

/// Load for `scripts/bench`: concurrent callers against a service (the commerce ledger, or any
/// service's health check) over one HTTP/2 connection for a fixed time, printing operations per
/// second and latency percentiles.
///
/// - `health`: one grpc.health.v1 Check per operation, the baseline (and, with a deadline, the
///   floor under every edge route that calls a service)
/// - `distinct`: Hold then Settle of 1 credit, each caller on a wallet of its own
/// - `shared`: the same, every caller on one wallet (their movements queue on its lock)
/// - `count`: for counting the statements of a pair on the database side: funds a wallet and
///   makes one pair, prints `ready`, waits for a line on stdin (the caller resets its counters),
///   then makes `--pairs` pairs one after another and prints `done`
@main
struct LedgerBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "atelier-bench", abstract: "Load the commerce ledger.")

    @Option(help: "Port of the commerce service on 127.0.0.1.") var port: Int
    @Option(help: "A service credential (atelier credential).") var credential: String
    @Option(help: "health, distinct, shared or count.") var mode: String
    @Option(help: "Concurrent callers.") var callers = 32
    @Option(help: "Seconds of load after one second of warm-up.") var seconds = 10.0
    @Option(help: "A deadline on every call, in seconds, as the edge sets one; 0 for none.") var deadline = 0.0
    @Option(help: "Pairs made one after another in count mode.") var pairs = 20

    func run() async throws {
        guard ["health", "distinct", "shared", "count"].contains(mode) else {
            throw ValidationError("--mode must be health, distinct, shared or count")
        }
        let metadata: Metadata = ["x-atelier-principal": .string(credential)]
        let transport = try HTTP2ClientTransport.Posix(target: .ipv4(address: "127.0.0.1", port: port), transportSecurity: .plaintext)
        let run = String(UInt64.random(in: 0...UInt64.max), radix: 36)
        let wallets = mode == "shared" || mode == "count" ? ["bench-\(run)-one"] : (0..<callers).map { "bench-\(run)-\($0)" }
        let (callers, seconds, mode, pairs) = (self.callers, self.seconds, self.mode, self.pairs)
        var callOptions = CallOptions.defaults
        if deadline > 0 { callOptions.timeout = .milliseconds(Int64(deadline * 1000)) }
        let options = callOptions

        let result: (count: Int, elapsed: Double, latencies: [Double], errors: Int) = try await withGRPCClient(transport: transport) { client in
            let commerce = Atelier_Commerce_V1_CommerceService.Client(wrapping: client)
            let health = Grpc_Health_V1_Health.Client(wrapping: client)
            for wallet in wallets where mode != "health" {
                _ = try await commerce.grant(.with {
                    $0.userID = wallet; $0.asset = "credits"; $0.amount = 1_000_000; $0.source = "admin"; $0.idempotencyKey = "fund"
                }, metadata: metadata)
            }
            let pair: @Sendable (String, String) async throws -> Void = { wallet, key in
                let hold = try await commerce.hold(.with {
                    $0.userID = wallet; $0.asset = "credits"; $0.amount = 1; $0.jobID = "job-\(key)"; $0.idempotencyKey = "h-\(key)"
                }, metadata: metadata, options: options)
                _ = try await commerce.settle(.with {
                    $0.userID = wallet; $0.holdID = hold.hold.id; $0.idempotencyKey = "s-\(key)"
                }, metadata: metadata, options: options)
            }
            if mode == "count" {
                try await pair(wallets[0], "warm")
                FileHandle.standardOutput.write(Data("ready\n".utf8))  // unbuffered: the script waits for it
                _ = readLine()
                for sequence in 0..<pairs { try await pair(wallets[0], "count-\(sequence)") }
                FileHandle.standardOutput.write(Data("done\n".utf8))
                return (0, 1, [], 0)
            }
            let operation: @Sendable (Int, Int) async throws -> Void = { caller, sequence in
                if mode == "health" {
                    _ = try await health.check(.with { $0.service = "" }, metadata: metadata, options: options)
                    return
                }
                try await pair(wallets[mode == "shared" ? 0 : caller], "\(caller)-\(sequence)")
            }
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
            return (latencies.count, seconds, latencies, perCaller.map(\.1).reduce(0, +))
        }
        func percentile(_ p: Double) -> Double {
            guard !result.latencies.isEmpty else { return 0 }
            return result.latencies[min(result.latencies.count - 1, Int(Double(result.latencies.count) * p))]
        }
        if mode == "count" { return }
        let rate = Double(result.count) / result.elapsed
        print(String(format: "%.0f %.2f %.2f %d", rate, percentile(0.5), percentile(0.99), result.errors))
    }
}
