import AtelierTestSupport
import Foundation
import ServiceKit
import Testing

@Suite("Mail over SMTP")
struct MailDeliveryTests {
    @Test("with SMTP configured, the outbox is delivered and the sent message's link is cleared",
          arguments: TestBackend.available)
    func delivers(backend: TestBackend) async throws {
        let smtp = try await FakeSMTPServer.start()
        // A local relay that asks for no credentials: plain SMTP is fine for it.
        let overrides = [
            "mail.smtp-host": "127.0.0.1", "mail.smtp-port": String(smtp.port), "mail.poll-seconds": "0.1",
            "mail.from": "Atelier <hello@atelier.test>",
        ]
        try await AuthFixture.run(backend, overrides: overrides) { auth in
            try await auth.signUp("ada@example.com")
            var delivery: FakeSMTPServer.Delivery?
            for _ in 0..<100 {
                delivery = smtp.deliveries.first
                if delivery != nil { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            let sent = try #require(delivery)
            #expect(sent.from == "hello@atelier.test")
            #expect(sent.recipients == ["ada@example.com"])
            #expect(!sent.commands.contains { $0.hasPrefix("AUTH") })
            #expect(sent.data.contains("Subject: Confirm your email address"))
            #expect(sent.decodedBody.contains("/verify-email?token="))
            // Marked sent, and the working link no longer sits in the table.
            for _ in 0..<50 {
                let row = try await auth.stack.database(.auth).first("SELECT sent_at, body FROM mail_outbox")
                if try row?.optionalInt("sent_at") != nil {
                    #expect(try row?.string("body") == "")
                    return
                }
                try await Task.sleep(for: .milliseconds(100))
            }
            Issue.record("the outbox row was never marked sent")
        }
        try await smtp.stop()
    }

    @Test("credentials never cross a plain connection: STARTTLS when offered, else nothing is sent", arguments: [TestBackend.sqlite])
    func credentialsNeedTLS(backend: TestBackend) async throws {
        for offered in [false, true] {
            let smtp = try await FakeSMTPServer.start(offerStartTLS: offered)
            let overrides = [
                "mail.smtp-host": "127.0.0.1", "mail.smtp-port": String(smtp.port), "mail.poll-seconds": "0.1",
                "mail.smtp-username": "mailer", "mail.smtp-password": "secret",
            ]
            try await AuthFixture.run(backend, overrides: overrides) { auth in
                try await auth.signUp("ada@example.com")
                var failure: String?
                for _ in 0..<100 where failure == nil {
                    failure = try await auth.stack.database(.auth).first("SELECT last_error FROM mail_outbox")?.optionalString("last_error")
                    if failure == nil { try await Task.sleep(for: .milliseconds(100)) }
                }
                let seen = smtp.commands.flatMap { $0 }
                #expect(!seen.contains { $0.uppercased().hasPrefix("AUTH") }, "\(seen)")
                #expect(smtp.deliveries.isEmpty)
                if offered {
                    #expect(seen.contains("STARTTLS"), "the client takes the offer before anything else")
                } else {
                    #expect(failure?.contains("refusing to send SMTP credentials over a plain connection") == true, "\(failure ?? "-")")
                }
            }
            try await smtp.stop()
        }
    }
}
