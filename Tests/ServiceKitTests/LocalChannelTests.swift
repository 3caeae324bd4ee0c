import AtelierTestSupport
import Foundation
import GRPCCore
import Logging
import ServiceKit
import ServiceLifecycle
import Testing

/// Calls inside one process (`LocalChannel`) keep everything a call means: the principal checked
/// by the same interceptor, the deadline, the status and its details, the reply's metadata.
@Suite("Calls between services of one process")
struct LocalChannelTests {
    /// Runs `body` with an Echo server that listens on a port and on an in-process transport.
    func withServer(_ body: (LocalChannel, PrincipalSigner) async throws -> Void) async throws {
        let signer = PrincipalSigner.generate()
        let local = LocalServerTransport(name: "echo")
        let server = RPCServer(name: "echo", host: "127.0.0.1", port: 0, services: [EchoService()], serviceNames: [],
                               verifier: signer.verifier, access: try MethodAccess.bundled(), credentials: nil,
                               logger: Logger(label: "test"), local: local)
        let group = ServiceGroup(configuration: .init(services: [.init(service: server)], logger: Logger(label: "test")))
        let task = Task { try await group.run() }
        do {
            try await body(LocalChannel(local), signer)
        } catch {
            await group.triggerGracefulShutdown()
            _ = try? await task.value
            throw error
        }
        await group.triggerGracefulShutdown()
        _ = try? await task.value
    }

    func principal(_ signer: PrincipalSigner) throws -> Metadata {
        [PrincipalInterceptor.metadataKey: .string(try signer.service(name: "tests", roles: ["edge"], lifetime: .seconds(60)))]
    }

    @Test("a call with a principal is answered, with the reply's metadata; one without is UNAUTHENTICATED")
    func principalChecked() async throws {
        try await withServer { channel, signer in
            let reply = try await channel.unary(EchoService.method("Echo"), request: Array("hi".utf8), metadata: try principal(signer),
                                                timeout: .seconds(5))
            #expect(reply.message == Array("hi".utf8))
            #expect(reply.metadata[stringValues: "echo-count"].first(where: { _ in true }) == "2")
            await #expect(throws: RPCError.self) {
                do {
                    _ = try await channel.unary(EchoService.method("Echo"), request: [1], metadata: [:], timeout: .seconds(5))
                } catch let error as RPCError {
                    #expect(error.code == .unauthenticated)
                    throw error
                }
            }
            let forged = PrincipalSigner.generate()
            await #expect(throws: RPCError.self) {
                _ = try await channel.unary(EchoService.method("Echo"), request: [1], metadata: try principal(forged), timeout: .seconds(5))
            }
        }
    }

    @Test("the deadline ends a slow call, and an error keeps its details")
    func deadlineAndDetails() async throws {
        try await withServer { channel, signer in
            let start = ContinuousClock.now
            do {
                _ = try await channel.unary(EchoService.method("Sleep"), request: Array("3000".utf8), metadata: try principal(signer),
                                            timeout: .milliseconds(300))
                Issue.record("Sleep answered before its deadline")
            } catch let error as RPCError {
                #expect(error.code == .deadlineExceeded)
            }
            #expect(ContinuousClock.now - start < .seconds(2))
            do {
                _ = try await channel.unary(EchoService.method("Fail"), request: Array("x".utf8), metadata: try principal(signer),
                                            timeout: .seconds(5))
                Issue.record("Fail succeeded")
            } catch let error as RPCError {
                let received = ServiceError(received: error)
                #expect(error.code == .invalidArgument && received.reason == "ECHO_REFUSED" && received.field == "input")
            }
            do {
                _ = try await channel.unary(MethodDescriptor(fullyQualifiedService: "atelier.test.Echo", method: "Nope"), request: [],
                                            metadata: try principal(signer), timeout: .seconds(5))
                Issue.record("an unknown method answered")
            } catch let error as RPCError {
                #expect(error.code == .unimplemented)
            }
        }
    }
}
