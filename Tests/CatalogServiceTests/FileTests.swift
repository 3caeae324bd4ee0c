import AtelierTestSupport
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import ServiceKit
import Testing

@Suite("File uploads through the edge")
struct FileTests {
    /// The path and query of a link the edge gave out (its host is the configured public URL).
    static func local(_ link: Any?) throws -> String {
        let text = try #require(link as? String)
        let url = try #require(URL(string: text))
        return url.path + "?" + (url.query ?? "")
    }

    @Test("POST /api/files/upload, PUT to the signed link, GET it back; tampered and wrong links are refused", arguments: TestBackend.available)
    func localRoundTrip(backend: TestBackend) async throws {
        try await TestStack.with(backend, edge: true) { stack in
            let (token, userID) = try await stack.signUp("uploader@example.com")
            let png = Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + (0..<500).map { UInt8($0 % 256) })
            let reply = try await stack.http("POST", "/api/files/upload", json: [
                "fileName": "avatar.png", "mimeType": "image/png", "fileSize": png.count, "category": "avatar",
            ], token: token)
            #expect(reply.status == 200, "\(reply.text)")
            let key = try #require(reply.json["storageKey"] as? String)
            #expect(key.hasPrefix("avatars/") && key.hasSuffix(".png"))
            #expect(reply.json["expiresAt"] is String)
            let upload = try Self.local(reply.json["uploadUrl"])
            let download = try Self.local(reply.json["publicUrl"])

            // Not yet uploaded.
            #expect(try await stack.http("GET", download).status == 404)
            // Bigger than signed for, another type, or an altered link: refused, nothing stored.
            let tooBig = try await stack.http("PUT", upload, rawBody: png + Data(count: 10), headers: ["Content-Type": "image/png"])
            #expect(tooBig.status == 413, "\(tooBig.text)")
            #expect(try await stack.http("PUT", upload, rawBody: png, headers: ["Content-Type": "image/gif"]).status == 400)
            let altered = upload.replacingOccurrences(of: "size=\(png.count)", with: "size=\(png.count * 100)")
            #expect(try await stack.http("PUT", altered, rawBody: png, headers: ["Content-Type": "image/png"]).status == 403)
            let otherKey = upload.replacingOccurrences(of: key, with: "avatars/0000.png")
            #expect(try await stack.http("PUT", otherKey, rawBody: png, headers: ["Content-Type": "image/png"]).status == 403)

            let stored = try await stack.http("PUT", upload, rawBody: png, headers: ["Content-Type": "image/png"])
            #expect(stored.status == 200, "\(stored.text)")
            let fetched = try await stack.http("GET", download)
            #expect(fetched.status == 200 && fetched.body == png)
            #expect(fetched.header("Content-Type") == "image/png")
            // The upload link does not read, and the download link does not write.
            #expect(try await stack.http("GET", upload).status == 403)
            #expect(try await stack.http("PUT", download, rawBody: png).status == 403)
            let expired = download.replacingOccurrences(of: #"expires=\d+"#, with: "expires=1000", options: .regularExpression)
            #expect(try await stack.http("GET", expired).status == 403)

            // A second link, issued before the account goes, is refused after.
            let second = try await stack.http("POST", "/api/files/upload", json: [
                "fileName": "late.png", "mimeType": "image/png", "fileSize": png.count, "category": "avatar",
            ], token: token)
            let lateUpload = try Self.local(second.json["uploadUrl"])

            // The upload is recorded as the user's, exported, and removed with the account.
            let export = try await stack.http("GET", "/api/user/export", token: token)
            #expect(((export.json["catalog"] as? [String: Any])?["files"] as? [[String: Any]])?.contains { $0["storageKey"] as? String == key } == true)
            _ = try await stack.http("DELETE", "/api/user/account", json: ["password": "Quiet-River-42"], token: token)
            #expect(try await stack.http("GET", download).status == 404)
            let late = try await stack.http("PUT", lateUpload, rawBody: png, headers: ["Content-Type": "image/png"])
            #expect(late.status == 403 && late.errorCode == "UPLOAD_LINK_REVOKED", "\(late.text)")
            // The record stays, marked purged, until the link has expired and the file is gone for good.
            #expect(try await stack.database(.catalog).count("SELECT COUNT(*) AS n FROM file_uploads WHERE user_id = \(userID) AND purged_at IS NULL") == 0)
        }
    }

    @Test("upload rules of PRD 6.7: categories, types, sizes, names", arguments: [TestBackend.sqlite])
    func rules(backend: TestBackend) async throws {
        try await TestStack.with(backend, edge: true) { stack in
            let (token, _) = try await stack.signUp("rules@example.com")
            let base: [String: Any] = ["fileName": "a.png", "mimeType": "image/png", "fileSize": 1000, "category": "avatar"]
            let cases: [([String: Any], String)] = [
                (["category": "video"], "category"),
                (["mimeType": "application/pdf"], "mimeType"),
                (["mimeType": "audio/mpeg"], "mimeType"),
                (["fileSize": 10 * 1024 * 1024 + 1], "fileSize"),
                (["fileSize": 0], "fileSize"),
                (["fileName": String(repeating: "n", count: 256)], "fileName"),
                (["fileName": ""], "fileName"),
            ]
            for (change, field) in cases {
                let body = base.merging(change) { $1 }
                let reply = try await stack.http("POST", "/api/files/upload", json: body, token: token)
                #expect(reply.status == 400 && reply.errorField == field, "\(change): \(reply.text)")
            }
            let audio = try await stack.http("POST", "/api/files/upload", json: [
                "fileName": "story.mp3", "mimeType": "audio/mpeg", "fileSize": 40 * 1024 * 1024, "category": "audio",
            ], token: token)
            #expect(audio.status == 200 && (audio.json["storageKey"] as? String)?.hasPrefix("audio/") == true, "\(audio.text)")
            #expect(try await stack.http("POST", "/api/files/upload", json: base.merging(["extra": 1]) { $1 }, token: token).errorCode == "UNKNOWN_FIELD")
            #expect(try await stack.http("POST", "/api/files/upload", json: base).status == 401)
        }
    }

    @Test("with blobs.store=s3 the links go to the bucket, and the account's files leave with it", arguments: [TestBackend.sqlite])
    func s3Store(backend: TestBackend) async throws {
        guard let endpoint = ProcessInfo.processInfo.environment["ATELIER_TEST_S3_URL"] else { return }
        let bucket = "edge-\(SecureRandom.hex(4))"
        var create = URLRequest(url: try #require(URL(string: "\(endpoint)/\(bucket)")))
        create.httpMethod = "PUT"
        _ = try await URLSession.shared.data(for: create)
        try await TestStack.with(backend, edge: true, overrides: [
            "blobs.store": "s3", "blobs.s3.endpoint": endpoint, "blobs.s3.bucket": bucket,
            "blobs.s3.access-key": "test", "blobs.s3.secret-key": "test-secret",
        ]) { stack in
            let (token, _) = try await stack.signUp("s3@example.com")
            let bytes = Data(repeating: 7, count: 300)
            let reply = try await stack.http("POST", "/api/files/upload", json: [
                "fileName": "p.webp", "mimeType": "image/webp", "fileSize": bytes.count, "category": "pictogram",
            ], token: token)
            let uploadLink = try #require(reply.json["uploadUrl"] as? String)
            let publicLink = try #require(reply.json["publicUrl"] as? String)
            #expect(uploadLink.hasPrefix("\(endpoint)/\(bucket)/pictograms/") && uploadLink.contains("X-Amz-Signature="))
            var put = URLRequest(url: try #require(URL(string: uploadLink)))
            put.httpMethod = "PUT"
            let (_, stored) = try await URLSession.shared.upload(for: put, from: bytes)
            #expect((stored as? HTTPURLResponse)?.statusCode == 200)
            let (got, _) = try await URLSession.shared.data(from: try #require(URL(string: publicLink)))
            #expect(got == bytes)
            // The edge serves no local files in this mode.
            #expect(try await stack.http("GET", "/files/pictograms/x.webp?expires=1&signature=00").status == 404)

            _ = try await stack.http("DELETE", "/api/user/account", json: ["password": "Quiet-River-42"], token: token)
            let (_, gone) = try await URLSession.shared.data(from: try #require(URL(string: publicLink)))
            #expect((gone as? HTTPURLResponse)?.statusCode == 404)
        }
    }
}

@Suite("A character's gallery as a ZIP")
struct GalleryDownloadTests {
    @Test("the archive holds every readable file byte for byte, names what it could not read, and is the owner's only", arguments: TestBackend.available)
    func zip(backend: TestBackend) async throws {
        try await TestStack.with(backend, edge: true) { stack in
            let (token, userID) = try await stack.signUp("zipper@example.com")
            let (other, _) = try await stack.signUp("not-the-owner@example.com")
            let character = try #require(try await CatalogFixture.character(stack, token: token, ["name": "Aria"])["id"] as? String)
            var files: [Data] = []
            for index in 0..<2 {
                let bytes = Data((0..<(1000 + index * 777)).map { UInt8(($0 * 7 + index) % 256) })
                let reply = try await stack.http("POST", "/api/files/upload", json: [
                    "fileName": "f\(index).png", "mimeType": "image/png", "fileSize": bytes.count, "category": "illustration",
                ], token: token)
                _ = try await stack.http("PUT", try FileTests.local(reply.json["uploadUrl"]), rawBody: bytes, headers: ["Content-Type": "image/png"])
                let link = try #require(reply.json["publicUrl"] as? String)
                _ = try await CatalogFixture.asService(stack) { client, metadata in
                    try await client.attachMedia(.with {
                        $0.userID = userID
                        $0.characterID = character
                        $0.type = "image"
                        $0.url = link
                    }, metadata: metadata)
                }
                files.append(bytes)
                try await Task.sleep(for: .milliseconds(5))
            }
            // A file nobody can fetch.
            _ = try await CatalogFixture.asService(stack) { client, metadata in
                try await client.attachMedia(.with {
                    $0.userID = userID
                    $0.characterID = character
                    $0.type = "video"
                    $0.url = "http://127.0.0.1:1/gone.mp4"
                }, metadata: metadata)
            }

            let reply = try await stack.http("GET", "/api/characters/\(character)/media.zip", token: token)
            #expect(reply.status == 200)
            #expect(reply.header("Content-Type") == "application/zip")
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("gallery-\(SecureRandom.hex(4)).zip")
            try reply.body.write(to: path)
            // Python's zipfile reads it and checks every CRC: an independent reader.
            let python = Process()
            python.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
            python.arguments = ["-c", """
                import sys, zipfile, hashlib
                z = zipfile.ZipFile(sys.argv[1])
                assert z.testzip() is None
                for info in z.infolist():
                    data = z.read(info)
                    print(info.filename, len(data), hashlib.sha256(data).hexdigest())
                """, path.path]
            let output = Pipe()
            python.standardOutput = output
            try python.run()
            python.waitUntilExit()
            #expect(python.terminationStatus == 0)
            let lines = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).split(separator: "\n")
            #expect(lines.count == 3, "\(lines)")
            // Newest first: the missing video, then the second and first images.
            #expect(lines.last?.hasPrefix("MISSING.txt") == true)
            #expect(lines.first?.contains("-image-") == true && lines.first?.contains(" \(files[1].count) ") == true)
            #expect(lines.dropFirst().first?.contains(" \(files[0].count) ") == true)

            #expect(try await stack.http("GET", "/api/characters/\(character)/media.zip", token: other).status == 404)
            #expect(try await stack.http("GET", "/api/characters/\(character)/media.zip").status == 401)
        }
    }
}
