import AtelierProtos
import Foundation
import ServiceKit

/// Picture and video jobs: the provider's files for the job's kind (images, a base picture from a
/// photo, a styling edit, a video), marked for the Free plan where the provider did not mark them,
/// then stored and attached to the gallery one by one (a styling edit also saved as its theme's
/// variant); a cancel is honoured between them.
struct MediaJobs: Sendable {
    let runner: JobRunner
    let peers: Peers
    let providers: ProviderSet
    let results: ResultStore
    /// Where the Free plan's mark is drawn on providers' pictures.
    let pool: BoundedWorkPool

    func make(_ claimed: JobStore.Claimed) async throws -> JobRunner.Outcome {
        let job = claimed.job
        let input = job.input
        let seed = Int64(input["seed"] ?? "") ?? 0
        let prompt = input["prompt"] ?? ""
        // The claim read the flag: a cancel asked for in an earlier attempt ends this one here.
        if claimed.cancelRequested { throw JobCanceled() }
        let provider = providers.gate(forKind: job.kind).name
        let made = try await providers.run(job.kind) { try await call(claimed) }
        // A cancel is asked for after the provider's call, then answered by each picture's progress.
        try await runner.meterThenCheckCanceled(claimed, step: job.kind, metered(job.kind, files: made.count))
        // Files a provider marked itself carry their original; the others are marked here.
        let unmarked = input["watermark"] == "true" && job.kind != "video" && made.contains { $0.original == nil }
        let files = unmarked ? try await pool.run { try made.map { $0.original == nil ? try FreeMark.apply($0) : $0 } } : made
        var attached: [Atelier_Catalog_V1_Media] = []
        var confirmed = false
        for (index, file) in files.enumerated() {
            if index > 0, !confirmed { throw JobCanceled() }
            let stored = try await results.store(file, job: job.id, index: index)
            let media = try await peers.attach(.with {
                $0.userID = claimed.userID
                $0.characterID = job.characterID
                $0.type = job.kind == "video" ? "video" : "image"
                $0.url = stored.url
                if let thumbnail = stored.thumbnailURL { $0.thumbnailURL = thumbnail }
                $0.generationParams = [
                    "jobId": job.id, "provider": provider, "prompt": String(prompt.prefix(3900)), "seed": String(seed &+ Int64(index)),
                ].merging(input.filter { ["steps", "mode", "edit", "themeId"].contains($0.key) }) { a, _ in a }
                $0.fileSizeBytes = Int64(file.bytes.count)
                $0.width = Int32(file.width)
                $0.height = Int32(file.height)
                if let duration = file.durationSeconds { $0.durationSeconds = duration }
                $0.watermarked = file.original != nil
                $0.idempotencyKey = "\(job.id):\(index)"
                // A base picture (text or photo mode) becomes the character's picture.
                $0.setAsCharacterImage = input["setAsCharacterImage"] == "true"
            })
            if job.kind == "variant", let theme = input["themeId"] {
                _ = try await peers.addVariant(.with {
                    $0.userID = claimed.userID
                    $0.themeID = theme
                    $0.prompt = input["edit"] ?? prompt
                    $0.imageURL = media.url
                    $0.metadata = ["mediaId": media.id, "jobId": job.id]
                    $0.idempotencyKey = "\(job.id):variant:\(index)"
                })
            }
            attached.append(media)
            confirmed = try await runner.progress(claimed, 10 + 85 * (index + 1) / max(files.count, 1), "\(index + 1) of \(files.count) ready")
        }
        let kind = job.kind == "video" ? "video" : attached.count == 1 ? "image" : "images"
        return JobRunner.Outcome(media: attached, message: "\(attached.count) \(kind) ready", confirmed: confirmed)
    }

    /// The usage record of the provider call for the job's kind.
    private func metered(_ kind: String, files: Int) -> MeteredCall {
        switch kind {
        case "video": MeteredCall(operation: "video_generation", provider: providers.video.name, model: providers.video.videoModel, items: files)
        case "variant", "photo": MeteredCall(operation: "image_edit", provider: providers.edit.name, model: providers.edit.editModel, items: files)
        default: MeteredCall(operation: "image_generation", provider: providers.image.name, model: providers.image.imageModel, items: files)
        }
    }

    /// The provider call for the job's kind.
    private func call(_ claimed: JobStore.Claimed) async throws -> [GeneratedFile] {
        let input = claimed.job.input
        let palette = Palette(skin: input["skinTone"], hair: input["hairColor"], eyes: input["eyeColor"],
                              clothing: input["clothing"] ?? input["characterClothing"])
        let seed = Int64(input["seed"] ?? "") ?? 0
        let prompt = input["prompt"] ?? ""
        let watermark = input["watermark"] == "true"
        let control = runner.control(claimed)
        switch claimed.job.kind {
        case "video":
            var source: SourceImage?
            if let url = input["sourceUrl"] { source = try await results.source(url: url) }
            return [try await providers.video.video(VideoRequest(
                prompt: prompt, seed: seed, durationSeconds: Int(input["durationSeconds"] ?? "") ?? 4, palette: palette, source: source, control: control))]
        case "variant", "photo":
            // Photo mode starts from the uploaded photo, a styling edit from one of the character's images.
            let source = if let key = input["photoKey"] { try await results.source(key: key) } else { try await results.source(url: input["sourceUrl"] ?? "") }
            return try await providers.edit.edit(EditRequest(instruction: prompt, source: source, seed: seed, palette: palette, control: control,
                                                             watermark: watermark))
        default:
            return try await providers.image.images(ImageRequest(
                prompt: prompt, seed: seed, count: Int(input["count"] ?? "") ?? 1, palette: palette,
                steps: Int(input["steps"] ?? "") ?? 35, control: control, watermark: watermark))
        }
    }
}
