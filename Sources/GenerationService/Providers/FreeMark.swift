/// The Free plan's visible mark, drawn on any provider's picture: the picture is read, striped
/// (`LocalImageRenderer.watermark`) and written again, and the unmarked file is kept as the
/// private original. CPU work: run it on the render pool.
enum FreeMark {
    static func apply(_ file: GeneratedFile) throws -> GeneratedFile {
        guard PNGDecoder.isPNG(file.bytes) else {
            throw ProviderError(code: "PICTURE_NOT_MARKABLE", message: "a \(file.contentType) picture cannot carry the Free plan's mark; PNG was expected",
                                retryable: false)
        }
        let image: PNGDecoder.Image
        do {
            image = try PNGDecoder.decode(file.bytes)
        } catch let error as PNGDecoder.Unreadable {
            throw ProviderError(code: "PROVIDER_MALFORMED_REPLY", message: "the provider's picture cannot be read: \(error)", retryable: true)
        }
        var pixels = image.rgb
        LocalImageRenderer.watermark(&pixels, w: image.width, h: image.height)
        var marked = GeneratedFile(bytes: PNGEncoder.encode(width: image.width, height: image.height, pixels: pixels, compressed: true),
                                   contentType: "image/png", fileExtension: "png", width: image.width, height: image.height)
        marked.original = file.bytes
        return marked
    }
}
