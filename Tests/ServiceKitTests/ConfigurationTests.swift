import ServiceKit
import Testing

@Suite("Configuration")
struct ConfigurationTests {
    @Test("flags win over the environment, which wins over defaults")
    func precedence() throws {
        let configuration = Configuration(overrides: ["edge.port": "9000"],
                                          environment: ["ATELIER_EDGE_PORT": "9100", "ATELIER_AUTH_PORT": "9200"])
        #expect(try configuration.int("edge.port", default: 8080) == 9000)
        #expect(try configuration.int("auth.port", default: 8081) == 9200)
        #expect(try configuration.int("catalog.port", default: 8082) == 8082)
        #expect(Configuration.environmentName("edge.max-body-bytes") == "ATELIER_EDGE_MAX_BODY_BYTES")
    }

    @Test("a bad or missing value is an error naming the key")
    func errorsNameTheKey() {
        let configuration = Configuration(environment: ["ATELIER_EDGE_PORT": "eighty", "ATELIER_AUTH_REQUIRE_VERIFIED_EMAIL": "maybe"])
        #expect(throws: ConfigurationError.invalid(key: "edge.port", value: "eighty", expected: "an integer in 0...65535")) {
            try configuration.int("edge.port", default: 8080, range: 0...65535)
        }
        #expect(throws: ConfigurationError.self) { try configuration.bool("auth.require-verified-email", default: false) }
        #expect(throws: ConfigurationError.missing(key: "principal.private-key")) { try configuration.require("principal.private-key") }
        #expect(ConfigurationError.missing(key: "principal.private-key").description.contains("ATELIER_PRINCIPAL_PRIVATE_KEY"))
    }

    @Test("a duration of zero or less is refused: a sweep every 0 seconds would spin, a 0 s deadline fail every call")
    func positiveDurations() throws {
        for value in ["0", "-1", "0.0", "nan", "soon"] {
            let configuration = Configuration(environment: ["ATELIER_EDGE_CALL_TIMEOUT_SECONDS": value])
            #expect(throws: ConfigurationError.self, "\(value)") { try configuration.seconds("edge.call-timeout-seconds", default: 10) }
        }
        let half = Configuration(environment: ["ATELIER_EDGE_CALL_TIMEOUT_SECONDS": "0.5"])
        #expect(try half.seconds("edge.call-timeout-seconds", default: 10) == .milliseconds(500))
    }

    @Test("a database URL in an error hides its password")
    func redactsPasswords() {
        let error = DatabaseError.invalidURL("postgresql://atelier:s3cret-Pass@db.internal:5432/atelier?sslmode=nope")
        #expect(!error.description.contains("s3cret-Pass"))
        #expect(error.description.contains("db.internal"))
        #expect(DatabaseURL.redacted("postgres://u:p@h/d") == "postgres://u:redacted@h/d")
    }
}
