/// The file routes in the OpenAPI document.
extension FileRoutes {
    static var openAPIPaths: [(String, JSONValue)] {
        func object(_ properties: [(String, JSONValue)], required: [String], closed: Bool = false) -> JSONValue {
            var members: [(String, JSONValue)] = [
                ("type", .string("object")),
                ("required", .array(required.map { .string($0) })),
                ("properties", .object(properties)),
            ]
            if closed { members.append(("additionalProperties", .bool(false))) }
            return .object(members)
        }
        func json(_ description: String, _ schema: JSONValue) -> JSONValue {
            .object([("description", .string(description)), ("content", .object([("application/json", .object([("schema", schema)]))]))])
        }
        func parameter(_ name: String, _ place: String, required: Bool) -> JSONValue {
            .object([("name", .string(name)), ("in", .string(place)), ("required", .bool(required)),
                     ("schema", .object([("type", .string("string"))]))])
        }
        let string: JSONValue = .object([("type", .string("string"))])
        let request = object([
            ("fileName", .object([("type", .string("string")), ("minLength", .number("1")), ("maxLength", .number("255"))])),
            ("mimeType", .object([("type", .string("string")), ("enum", .array(
                (UploadRules.imageTypes.keys.sorted() + UploadRules.audioTypes.keys.sorted()).map { .string($0) }))])),
            ("fileSize", .object([("type", .string("integer")), ("minimum", .number("1")), ("maximum", .number(String(UploadRules.maxAudioBytes)))])),
            ("category", .object([("type", .string("string")), ("enum", .array(UploadRules.categories.map { .string($0) }))])),
        ], required: ["fileName", "mimeType", "fileSize", "category"], closed: true)
        let reply = object([
            ("uploadUrl", string), ("storageKey", string), ("publicUrl", string),
            ("expiresAt", .object([("type", .string("string")), ("format", .string("date-time"))])),
            ("method", string), ("contentType", string),
        ], required: ["uploadUrl", "storageKey", "publicUrl", "expiresAt", "method", "contentType"])
        let stored = object([("storageKey", string), ("size", .object([("type", .string("integer"))]))], required: ["storageKey", "size"])
        let fileParameters = [parameter("folder", "path", required: true), parameter("name", "path", required: true),
                              parameter("expires", "query", required: false), parameter("signature", "query", required: false)]
        return [
            (uploadPath, .object([("post", .object([
                ("operationId", .string("CreateUpload")),
                ("tags", .array([.string("Files")])),
                ("summary", .string("A URL to PUT a file to (PRD 6.7): avatar, illustration, pictogram (images up to 10 MB) or audio (up to 50 MB)")),
                ("security", .array([.object([("bearerAuth", .array([]))])])),
                ("requestBody", .object([("required", .bool(true)),
                                         ("content", .object([("application/json", .object([("schema", request)]))]))])),
                ("responses", .object([
                    ("200", json("Where to upload, and the file's key and address", reply)),
                    ("400", OpenAPIDocument.errorResponse("Invalid request")),
                    ("401", OpenAPIDocument.errorResponse("Not signed in")),
                    ("413", OpenAPIDocument.errorResponse("Body too large")),
                    ("415", OpenAPIDocument.errorResponse("Not JSON")),
                    ("429", OpenAPIDocument.errorResponse("Too many requests")),
                    ("503", OpenAPIDocument.errorResponse("A service is unavailable")),
                    ("504", OpenAPIDocument.errorResponse("A service took too long")),
                ])),
            ]))])),
            ("/files/{folder}/{name}", .object([
                ("get", .object([
                    ("operationId", .string("DownloadFile")),
                    ("tags", .array([.string("Files")])),
                    ("summary", .string("A file of the local blob store, through a signed link that expires")),
                    ("parameters", .array(fileParameters)),
                    ("responses", .object([
                        ("200", .object([("description", .string("The file")), ("content", .object([("*/*", .object([
                            ("schema", .object([("type", .string("string")), ("format", .string("binary"))])),
                        ]))]))])),
                        ("403", OpenAPIDocument.errorResponse("Link invalid or expired")),
                        ("404", OpenAPIDocument.errorResponse("No such file")),
                    ])),
                ])),
                ("put", .object([
                    ("operationId", .string("UploadFile")),
                    ("tags", .array([.string("Files")])),
                    ("summary", .string("Stores a file's bytes at a signed upload link of the local blob store")),
                    ("parameters", .array(fileParameters + [parameter("type", "query", required: false), parameter("size", "query", required: false)])),
                    ("requestBody", .object([("content", .object([("application/octet-stream", .object([
                        ("schema", .object([("type", .string("string")), ("format", .string("binary"))])),
                    ]))]))])),
                    ("responses", .object([
                        ("200", json("Stored", stored)),
                        ("400", OpenAPIDocument.errorResponse("Empty body or wrong content type")),
                        ("403", OpenAPIDocument.errorResponse("Link invalid or expired")),
                        ("404", OpenAPIDocument.errorResponse("No such file route")),
                        ("413", OpenAPIDocument.errorResponse("More bytes than the link allows")),
                    ])),
                ])),
            ])),
        ]
    }
}
