import ArgumentParser
import AtelierProtos
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import GRPCProtobuf
import ServiceKit

/// Load for `scripts/bench`: concurrent callers against one service for a fixed time, printing
/// operations per second, latency percentiles and errors.
///
/// - `health`: one grpc.health.v1 Check per operation, the baseline (and, with a deadline, the
///   floor under every edge route that calls a service)
/// - `whoami`: `atelier.api.v1.CallerService/WhoAmI`, a unary call with a principal the server
///   verifies and no database, through grpc-swift-2's client; `whoami-lean` the same through
///   ServiceKit's lean HTTP/2 client, the one the services call each other with
/// - `distinct`: Hold then Settle of 1 credit, each caller on a wallet of its own
/// - `shared`: the same, every caller on one wallet (their movements queue on its lock)
/// - `count`: for counting the statements of a pair on the database side: funds a wallet and
///   makes one pair, prints `ready`, waits for a line on stdin (the caller resets its counters),
///   then makes `--pairs` pairs one after another and prints `done`
/// - `fund`: grants `--amount` credits to each `--user` (the generation bench's submitters) and exits
@main
struct ServiceBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "atelier-bench", abstract: "Load one Atelier service over gRPC.")
    static let modes = ["health", "whoami", "whoami-lean", "distinct", "shared", "count", "fund"]

    @Option(help: "Port of the service on 127.0.0.1.") var port: Int
    @Option(help: "A service credential (atelier credential).") var credential: String
    @Option(help: "health, whoami, whoami-lean, distinct, shared or count.") var mode: String
    @Option(help: "Concurrent callers.") var callers = 32
    @Option(help: "Seconds of load after one second of warm-up.") var seconds = 10.0
    @Option(help: "A deadline on every call, in seconds, as the edge sets one; 0 for none.") var deadline = 0.0
    @Option(help: "Pairs made one after another in count mode.") var pairs = 20
    @Option(help: "Users to fund in fund mode.") var user: [String] = []
    @Option(help: "Credits each user gets in fund mode.") var amount: Int64 = 10_000

    func run() async throws {
        guard Self.modes.contains(mode) else { throw ValidationError("--mode must be one of \(Self.modes.joined(separator: ", "))") }
        let metadata: Metadata = ["x-atelier-principal": .string(credential)]
        let transport = try HTTP2ClientTransport.Posix(target: .ipv4(address: "127.0.0.1", port: port), transportSecurity: .plaintext)
        let run = String(UInt64.random(in: 0...UInt64.max), radix: 36)
        let wallets = mode == "shared" || mode == "count" ? ["bench-\(run)-one"] : (0..<callers).map { "bench-\(run)-\($0)" }
        let (callers, seconds, mode, pairs) = (self.callers, self.seconds, self.mode, self.pairs)
        let (users, amount) = (self.user, self.amount)
        var callOptions = CallOptions.defaults
        if deadline > 0 { callOptions.timeout = .milliseconds(Int64(deadline * 1000)) }
        let options = callOptions
        let lean = ServiceClient(target: "127.0.0.1:\(port)", channel: HTTP2Channel(host: "127.0.0.1", port: port),
                                 timeout: deadline > 0 ? .milliseconds(Int64(deadline * 1000)) : .seconds(30))

        let result: Load.Result = try await withGRPCClient(transport: transport) { client in
            let commerce = Atelier_Commerce_V1_CommerceService.Client(wrapping: client)
            let health = Grpc_Health_V1_Health.Client(wrapping: client)
            let caller = Atelier_Api_V1_CallerService.Client(wrapping: client)
            if mode == "fund" {
                for user in users {
                    _ = try await commerce.grant(.with {
                        $0.userID = user; $0.asset = "credits"; $0.amount = amount; $0.source = "admin"; $0.idempotencyKey = "bench-fund-\(run)"
                    }, metadata: metadata)
                }
                return Load.Result(count: 0, elapsed: 1, latencies: [], errors: 0)
            }
            if ["distinct", "shared", "count"].contains(mode) {
                for wallet in wallets {
                    _ = try await commerce.grant(.with {
                        $0.userID = wallet; $0.asset = "credits"; $0.amount = 1_000_000; $0.source = "admin"; $0.idempotencyKey = "fund"
                    }, metadata: metadata)
                }
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
                return Load.Result(count: 0, elapsed: 1, latencies: [], errors: 0)
            }
            let operation: @Sendable (Int, Int) async throws -> Void = switch mode {
            case "health": { _, _ in _ = try await health.check(.with { $0.service = "" }, metadata: metadata, options: options) }
            case "whoami": { _, _ in _ = try await caller.whoAmI(.init(), metadata: metadata, options: options) }
            case "whoami-lean": { _, _ in _ = try await lean.call(Atelier_Api_V1_CallerService.Method.WhoAmI.self, .init(), metadata: metadata) }
            default: { caller, sequence in try await pair(wallets[mode == "shared" ? 0 : caller], "\(caller)-\(sequence)") }
            }
            return try await Load.run(callers: callers, seconds: seconds, operation)
        }
        (lean.channel as? HTTP2Channel)?.close()
        if mode == "count" || mode == "fund" { return }
        print(String(format: "%.0f %.2f %.2f %d", result.rate, result.percentile(0.5), result.percentile(0.99), result.errors))
    }
}
