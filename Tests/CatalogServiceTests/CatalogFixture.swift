import AtelierProtos
import AtelierTestSupport
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import ServiceKit
import Testing

typealias CatalogClient = Atelier_Catalog_V1_CatalogService.Client<HTTP2ClientTransport.Posix>

/// Helpers shared by the catalog tests: what generation will do over gRPC (add stories,
/// illustrations, media and variants), and reading the edge's JSON.
enum CatalogFixture {
    /// Runs `body` with a catalog client and a service principal, as generation calls.
    static func asService<T: Sendable>(_ stack: TestStack, _ body: (CatalogClient, Metadata) async throws -> T) async throws -> T {
        // Generation's role for what it writes, the edge's for uploads, purges and exports.
        let metadata = try stack.serviceMetadata(name: "generation", roles: ["generation", "edge"])
        return try await stack.withClient(.catalog) { client in try await body(CatalogClient(wrapping: client), metadata) }
    }

    static func createStory(_ stack: TestStack, user: String, hero: String, title: String, eventType: String = "bedtime",
                            language: String = "en", key: String = "") async throws -> Atelier_Catalog_V1_Story {
        try await asService(stack) { client, metadata in
            try await client.createStory(.with {
                $0.userID = user
                $0.heroID = hero
                $0.title = title
                $0.content = "Once upon a time, \(title)."
                $0.eventType = eventType
                $0.language = language
                $0.idempotencyKey = key
            }, metadata: metadata).story
        }
    }

    static func addIllustration(_ stack: TestStack, user: String, story: String, at timestamp: Double) async throws -> Atelier_Catalog_V1_Illustration {
        try await asService(stack) { client, metadata in
            try await client.addIllustration(.with {
                $0.userID = user
                $0.storyID = story
                $0.imageURL = "https://files.example.com/illustrations/\(Int(timestamp)).png"
                $0.prompt = "scene at \(timestamp)"
                $0.timestamp = timestamp
                $0.duration = 30
            }, metadata: metadata).illustration
        }
    }

    static func attachMedia(_ stack: TestStack, user: String, character: String, type: String = "image", key: String = "") async throws -> Atelier_Catalog_V1_Media {
        try await asService(stack) { client, metadata in
            try await client.attachMedia(attachment(user: user, character: character, type: type, key: key), metadata: metadata).media
        }
    }

    /// An output of a job, as generation attaches it.
    static func attachment(user: String, character: String, type: String = "image", key: String = "") -> Atelier_Catalog_V1_AttachMediaRequest {
        .with {
            $0.userID = user
            $0.characterID = character
            $0.type = type
            $0.url = "https://files.example.com/media/\(UUID().uuidString).\(type == "video" ? "mp4" : "png")"
            $0.width = 1024
            $0.height = 1024
            $0.fileSizeBytes = 123_456
            if type == "video" { $0.durationSeconds = 4 }
            $0.generationParams = ["prompt": "a portrait", "seed": "42"]
            $0.watermarked = true
            $0.idempotencyKey = key
        }
    }

    static func addVariant(_ stack: TestStack, user: String, theme: String, prompt: String, key: String = "") async throws -> Atelier_Catalog_V1_Variant {
        try await asService(stack) { client, metadata in
            try await client.addVariant(.with {
                $0.userID = user
                $0.themeID = theme
                $0.prompt = prompt
                $0.imageURL = "https://files.example.com/variants/\(UUID().uuidString).png"
                $0.metadata = ["model": "local"]
                $0.idempotencyKey = key
            }, metadata: metadata).variant
        }
    }

    /// Creates a character through the edge and returns its JSON.
    static func character(_ stack: TestStack, token: String, _ body: [String: Any]) async throws -> [String: Any] {
        let reply = try await stack.http("POST", "/api/characters", json: body, token: token)
        #expect(reply.status == 201, "\(reply.text)")
        return try #require(reply.json["character"] as? [String: Any])
    }

    static func hero(_ stack: TestStack, token: String, name: String, age: Int = 7, traits: [String] = ["brave", "kind"]) async throws -> [String: Any] {
        let reply = try await stack.http("POST", "/api/heroes", json: [
            "name": name, "age": age, "traits": traits, "appearance": "Curly hair, blue eyes", "abilities": ["magic"],
        ], token: token)
        #expect(reply.status == 201, "\(reply.text)")
        return try #require(reply.json["hero"] as? [String: Any])
    }
}

extension HTTPReply {
    var total: Int? { (json["pagination"] as? [String: Any])?["total"] as? Int }
}
