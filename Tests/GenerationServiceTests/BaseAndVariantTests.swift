import AtelierTestSupport
import Foundation
import ServiceKit
import Testing

/// The epic's two steps, offline with the local provider, over HTTP: a character's base picture
/// from text and from an uploaded photo (it becomes the character's picture), then a styling
/// edit saved as a variant in a theme; the jobs appear in the user's export, and deleting the
/// account deletes every file they made.
@Suite("Base pictures and styling variants")
struct BaseAndVariantTests {
    typealias Flow = ImageVideoFlowTests

    static func blobsDirectory(_ stack: TestStack) -> String {
        stack.configuration.string("blobs.directory") ?? "\(stack.configuration.string("data-dir", default: "./.atelier"))/blobs"
    }

    static func files(_ stack: TestStack, in folder: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: "\(blobsDirectory(stack))/\(folder)")) ?? []).filter { $0.hasPrefix("job_") }
    }

    @Test("text mode and photo mode make the character's picture; an edit becomes a variant; export lists the jobs; deletion removes their files",
          arguments: TestBackend.available)
    func baseThenVariant(backend: TestBackend) async throws {
        try await TestStack.with(backend, edge: true) { stack in
            let (token, _) = try await stack.signUp("stylist@example.com")
            let created = try await stack.http("POST", "/api/characters", json: ["name": "Bram", "hairColor": "black"], token: token)
            let character = try #require((created.json["character"] as? [String: Any])?["id"] as? String, "\(created.text)")

            // Text mode.
            let text = try await stack.http("POST", "/api/generate/base", json: [
                "characterId": character, "mode": "text", "prompt": "a knight in silver armour", "style": "watercolour",
            ], token: token)
            #expect(text.status == 202, "\(text.text)")
            let textJob = try await Flow.finished(stack, try #require(Flow.job(text)["id"] as? String), token: token)
            #expect(textJob["status"] as? String == "succeeded", "\(textJob)")
            #expect(textJob["kind"] as? String == "image")
            let textURL = try #require((textJob["resultUrls"] as? [String])?.first)
            var shown = try await stack.http("GET", "/api/characters/\(character)", token: token)
            #expect((shown.json["character"] as? [String: Any])?["imageUrl"] as? String == textURL, "the base picture is the character's picture")

            // Photo mode: an uploaded photo, drawn as the character.
            let photo = FakeFiles.png(seed: 77)
            let upload = try await stack.http("POST", "/api/files/upload", json: [
                "fileName": "me.png", "mimeType": "image/png", "fileSize": photo.count, "category": "avatar",
            ], token: token)
            let key = try #require(upload.json["storageKey"] as? String, "\(upload.text)")
            let put = try await stack.http("PUT", try Self.local(upload.json["uploadUrl"]), rawBody: Data(photo), headers: ["Content-Type": "image/png"])
            #expect(put.status == 200, "\(put.text)")
            let missing = try await stack.http("POST", "/api/generate/base", json: ["characterId": character, "mode": "photo"], token: token)
            #expect(missing.status == 400 && missing.text.contains("photoKey"), "\(missing.text)")
            let wrongMode = try await stack.http("POST", "/api/generate/base", json: ["characterId": character, "mode": "sketch"], token: token)
            #expect(wrongMode.status == 400 && wrongMode.text.contains("mode"), "\(wrongMode.text)")
            let (otherToken, _) = try await stack.signUp("other@example.com")
            let otherCharacter = try await stack.http("POST", "/api/characters", json: ["name": "Other"], token: otherToken)
            let otherID = try #require((otherCharacter.json["character"] as? [String: Any])?["id"] as? String)
            let stolen = try await stack.http("POST", "/api/generate/base", json: ["characterId": otherID, "mode": "photo", "photoKey": key],
                                              token: otherToken)
            #expect(stolen.status == 404, "another user's photo is not there for them: \(stolen.text)")

            let fromPhoto = try await stack.http("POST", "/api/generate/base", json: ["characterId": character, "mode": "photo", "photoKey": key],
                                                 token: token)
            #expect(fromPhoto.status == 202, "\(fromPhoto.text)")
            let photoJob = try await Flow.finished(stack, try #require(Flow.job(fromPhoto)["id"] as? String), token: token)
            #expect(photoJob["status"] as? String == "succeeded" && photoJob["kind"] as? String == "photo", "\(photoJob)")
            let photoURL = try #require((photoJob["resultUrls"] as? [String])?.first)
            #expect(photoURL != textURL)
            shown = try await stack.http("GET", "/api/characters/\(character)", token: token)
            #expect((shown.json["character"] as? [String: Any])?["imageUrl"] as? String == photoURL)

            // A styling edit, saved in a theme.
            let theme = try await stack.http("POST", "/api/characters/\(character)/themes", json: ["name": "Expressions"], token: token)
            let themeID = try #require((theme.json["theme"] as? [String: Any])?["id"] as? String, "\(theme.text)")
            let nothing = try await stack.http("POST", "/api/themes/\(themeID)/variants/generate", json: [:], token: token)
            #expect(nothing.status == 400 && nothing.text.contains("edit"), "\(nothing.text)")
            let foreign = try await stack.http("POST", "/api/themes/\(themeID)/variants/generate", json: ["edit": "make them smile"], token: otherToken)
            #expect(foreign.status == 404, "\(foreign.text)")
            let edit = try await stack.http("POST", "/api/themes/\(themeID)/variants/generate", json: ["edit": "make them smile", "scene": "a beach"],
                                            token: token)
            #expect(edit.status == 202, "\(edit.text)")
            let editJob = try await Flow.finished(stack, try #require(Flow.job(edit)["id"] as? String), token: token)
            #expect(editJob["status"] as? String == "succeeded" && editJob["kind"] as? String == "variant", "\(editJob)")
            let variants = try await stack.http("GET", "/api/themes/\(themeID)/variants", token: token).list("variants")
            #expect(variants.count == 1)
            #expect(variants.first?["prompt"] as? String == "make them smile; scene: a beach")
            #expect(variants.first?["imageUrl"] as? String == (editJob["resultUrls"] as? [String])?.first)
            let editedLink = try #require(variants.first?["imageUrl"] as? String)
            let editedURL = try #require(URL(string: editedLink))
            #expect(try await stack.http("GET", editedURL.path).body.prefix(4) == Data([0x89, 0x50, 0x4E, 0x47]))

            // Three pictures, three units: Free's three monthly image generations.
            #expect(try await Flow.balance(stack, token: token) == (3, 0))

            let export = try await stack.http("GET", "/api/user/export", token: token)
            let jobs = ((export.json["generation"] as? [String: Any])?["jobs"] as? [[String: Any]]) ?? []
            #expect(jobs.compactMap { $0["kind"] as? String } == ["image", "photo", "variant"], "\(export.text.prefix(400))")
            let usage = (export.json["generation"] as? [String: Any])?["usage"] as? [String: Any]
            let operations = (usage?["breakdown"] as? [[String: Any]] ?? []).compactMap { $0["operation"] as? String }
            #expect(operations == ["image_edit", "image_generation"], "the provider calls, metered: \(String(describing: usage))")

            // Free pictures are marked, their originals kept privately; deleting the account deletes them all.
            #expect(Self.files(stack, in: GeneratedFiles.folder).count == 3)
            #expect(Self.files(stack, in: GeneratedFiles.originals).count == 3)
            let deleted = try await stack.http("DELETE", "/api/user/account", json: ["password": "Quiet-River-42"], token: token)
            #expect(deleted.status == 200, "\(deleted.text)")
            #expect(Self.files(stack, in: GeneratedFiles.folder).isEmpty)
            #expect(Self.files(stack, in: GeneratedFiles.originals).isEmpty)
            #expect(try await stack.http("GET", editedURL.path).status == 404)
        }
    }

    static func local(_ link: Any?) throws -> String {
        let text = try #require(link as? String)
        let url = try #require(URL(string: text))
        return url.path + "?" + (url.query ?? "")
    }
}
