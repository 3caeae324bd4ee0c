import AtelierProtos
import Foundation
import ServiceKit

/// The rules a character's attributes follow (character-platform-database-design.md and the MVP
/// spec's form): what an owner may write, and the prompt built from it. `CharacterStore` keeps them.
enum CharacterAttributes {
    static let styleTypes = ["realistic", "anime", "cartoon", "fantasy", "cyberpunk", "vintage", "minimalist"]
    static let generationStatuses = ["pending", "processing", "completed", "failed"]

    /// Applies what an owner wrote to a character. `replace` starts from empty attributes (create
    /// and PUT); otherwise absent fields keep their value (PATCH). Every field is checked.
    static func apply(_ input: Atelier_Catalog_V1_CharacterInput, to current: Atelier_Catalog_V1_Character,
                      replace: Bool) throws -> Atelier_Catalog_V1_Character {
        var next = current
        if replace {
            let keep = current
            next = Atelier_Catalog_V1_Character()
            next.id = keep.id
            next.generationStatus = keep.generationStatus.isEmpty ? "pending" : keep.generationStatus
            if keep.hasImageURL { next.imageURL = keep.imageURL }
            if keep.hasThumbnailURL { next.thumbnailURL = keep.thumbnailURL }
            next.imageCount = keep.imageCount
            next.videoCount = keep.videoCount
            next.createdAt = keep.createdAt
            next.styleType = "realistic"
        }

        func optional(_ has: Bool, _ value: String, field: String, max: Int, set: (inout Atelier_Catalog_V1_Character, String?) -> Void) throws {
            guard has else { return }
            set(&next, try Rules.text(value, field: field, max: max))
        }

        if input.hasName || replace { next.name = try Rules.required(input.name, field: "name", max: 100) }
        try optional(input.hasDescription_p, input.description_p, field: "description", max: 2000) { c, v in
            if let v { c.description_p = v } else { c.clearDescription_p() } }
        if input.hasStyleType { next.styleType = try Rules.oneOf(input.styleType, field: "styleType", allowed: styleTypes) }
        try optional(input.hasAgeRange, input.ageRange, field: "ageRange", max: 50) { c, v in
            if let v { c.ageRange = v } else { c.clearAgeRange() } }
        try optional(input.hasGender, input.gender, field: "gender", max: 50) { c, v in
            if let v { c.gender = v } else { c.clearGender() } }
        try optional(input.hasEthnicity, input.ethnicity, field: "ethnicity", max: 100) { c, v in
            if let v { c.ethnicity = v } else { c.clearEthnicity() } }
        try optional(input.hasBodyType, input.bodyType, field: "bodyType", max: 100) { c, v in
            if let v { c.bodyType = v } else { c.clearBodyType() } }
        try optional(input.hasHairStyle, input.hairStyle, field: "hairStyle", max: 100) { c, v in
            if let v { c.hairStyle = v } else { c.clearHairStyle() } }
        try optional(input.hasHairColor, input.hairColor, field: "hairColor", max: 50) { c, v in
            if let v { c.hairColor = v } else { c.clearHairColor() } }
        try optional(input.hasEyeColor, input.eyeColor, field: "eyeColor", max: 50) { c, v in
            if let v { c.eyeColor = v } else { c.clearEyeColor() } }
        try optional(input.hasSkinTone, input.skinTone, field: "skinTone", max: 50) { c, v in
            if let v { c.skinTone = v } else { c.clearSkinTone() } }
        try optional(input.hasOccupation, input.occupation, field: "occupation", max: 100) { c, v in
            if let v { c.occupation = v } else { c.clearOccupation() } }
        try optional(input.hasClothing, input.clothing, field: "clothing", max: 500) { c, v in
            if let v { c.clothing = v } else { c.clearClothing() } }
        try optional(input.hasBackground, input.background, field: "background", max: 4000) { c, v in
            if let v { c.background = v } else { c.clearBackground() } }
        try optional(input.hasCustomDescription, input.customDescription, field: "customDescription", max: 2000) { c, v in
            if let v { c.customDescription = v } else { c.clearCustomDescription() } }
        if input.hasReferenceImageURL {
            if let url = try Rules.url(input.referenceImageURL, field: "referenceImageUrl") { next.referenceImageURL = url } else { next.clearReferenceImageURL() }
        }
        if replace || !input.personality.isEmpty || input.clearPersonality_p {
            next.personality = try Rules.list(input.personality, field: "personality", maxItems: 10, maxLength: 50)
        }
        if replace || !input.tags.isEmpty || input.clearTags_p {
            // Tags are matched without regard to case, so they are kept in lower case.
            next.tags = try Rules.list(input.tags.map { $0.lowercased() }, field: "tags", maxItems: 20, maxLength: 50)
        }
        if replace || !input.physicalTraits.isEmpty || input.clearPhysicalTraits_p {
            next.physicalTraits = try Rules.map(input.physicalTraits, field: "physicalTraits", maxItems: 20, maxLength: 200)
        }
        if input.hasIsPublic { next.isPublic = input.isPublic } else if replace { next.isPublic = false }
        if input.hasIsFavorite { next.isFavorite = input.isFavorite } else if replace { next.isFavorite = false }

        // The prompt: the owner's, or one built from the attributes. A built prompt follows the
        // attributes as they change; one the owner wrote stays until they change it.
        if input.hasPrompt, let prompt = try Rules.text(input.prompt, field: "prompt", max: 4000) {
            next.prompt = prompt
        } else if replace || input.hasPrompt || current.prompt == builtPrompt(current) {
            next.prompt = builtPrompt(next)
        }
        return next
    }

    /// A generation prompt from the attributes the owner chose.
    static func builtPrompt(_ character: Atelier_Catalog_V1_Character) -> String {
        var parts = ["portrait of \(character.name)"]
        if character.hasAgeRange { parts.append("age \(character.ageRange)") }
        if character.hasGender { parts.append(character.gender) }
        if character.hasEthnicity { parts.append(character.ethnicity) }
        if character.hasBodyType { parts.append("\(character.bodyType) build") }
        if character.hasHairStyle || character.hasHairColor {
            parts.append([character.hairStyle, character.hairColor, "hair"].filter { !$0.isEmpty }.joined(separator: " "))
        }
        if character.hasEyeColor { parts.append("\(character.eyeColor) eyes") }
        if character.hasSkinTone { parts.append("\(character.skinTone) skin") }
        if character.hasOccupation { parts.append(character.occupation) }
        if !character.personality.isEmpty { parts.append(character.personality.joined(separator: ", ")) }
        for (key, value) in character.physicalTraits.sorted(by: { $0.key < $1.key }) { parts.append("\(key) \(value)") }
        if character.hasClothing { parts.append("wearing \(character.clothing)") }
        if character.hasCustomDescription { parts.append(character.customDescription) }
        if character.hasDescription_p { parts.append(character.description_p) }
        parts.append("\(character.styleType.isEmpty ? "realistic" : character.styleType) style")
        return String(parts.joined(separator: ", ").prefix(4000))
    }

    /// What text search looks in: name, description and tags, in lower case.
    static func searchText(_ character: Atelier_Catalog_V1_Character) -> String {
        ([character.name, character.description_p] + character.tags).joined(separator: "\n").lowercased()
    }
}
