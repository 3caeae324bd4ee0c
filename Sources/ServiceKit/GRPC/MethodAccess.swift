import AtelierProtos
import GRPCCore
import SwiftProtobuf

/// Who may call each RPC, as `proto/` declares it: the service roles of the method's
/// `(atelier.api.v1.services)` option, whether it has an HTTP rule (users call it through the
/// edge) and whether that route is public. Read once from the descriptor set at start-up.
public struct MethodAccess: Sendable {
    public struct Rule: Sendable, Equatable {
        /// The roles a service principal needs, one of them; "*" admits any service.
        public let serviceRoles: Set<String>
        public let userFacing: Bool
        public let isPublic: Bool
        public let serverStreaming: Bool

        /// Whether a service principal holding `roles` may call.
        public func admits(serviceRoles roles: [String]) -> Bool {
            isPublic || serviceRoles.contains("*") || !serviceRoles.isDisjoint(with: roles)
        }
    }

    /// By fully-qualified method, `atelier.catalog.v1.CatalogService/AttachMedia`.
    public let rules: [String: Rule]

    public init(_ set: Google_Protobuf_FileDescriptorSet) {
        var rules: [String: Rule] = [:]
        for file in set.file {
            let prefix = file.package.isEmpty ? "" : file.package + "."
            for service in file.service {
                for method in service.method {
                    let options = method.options
                    rules["\(prefix)\(service.name)/\(method.name)"] = Rule(
                        serviceRoles: Set(options.Atelier_Api_V1_services.roles),
                        userFacing: options.hasGoogle_Api_http,
                        isPublic: options.Atelier_Api_V1_route.access == .public, serverStreaming: method.serverStreaming)
                }
            }
        }
        self.rules = rules
    }

    /// The rules of the bundled descriptor set.
    public static func bundled() throws -> MethodAccess {
        MethodAccess(try AtelierDescriptors.load())
    }

    public func rule(for method: MethodDescriptor) -> Rule? {
        rules["\(method.service.fullyQualifiedService)/\(method.method)"]
    }
}
