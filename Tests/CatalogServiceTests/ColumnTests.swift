import Foundation
@testable import CatalogService
import ServiceKit
import Testing

@Suite("List and map columns")
struct ColumnTests {
    @Test("what JSONColumn writes reads back the same, escapes and all")
    func roundTrip() throws {
        let lists: [[String]] = [[], ["brave"], ["a \"quoted\" word", "back\\slash", "line\nbreak", "tab\t", "ünïcødé 🦁", "slash/"], ["\u{1}"]]
        for list in lists {
            guard case .text(let text) = JSONColumn.encode(list) else { Issue.record("not text"); continue }
            let row = SQLRow(values: ["c": .text(text)])
            #expect(try JSONColumn.list(row, "c") == list, "\(text)")
        }
        let maps: [[String: String]] = [[:], ["height": "170cm", "eyes": "green \"bright\""], ["ключ": "значение"]]
        for map in maps {
            guard case .text(let text) = JSONColumn.encode(map) else { Issue.record("not text"); continue }
            #expect(try JSONColumn.map(SQLRow(values: ["c": .text(text)]), "c") == map, "\(text)")
        }
        // Shapes the fast reader leaves to the general decoder.
        #expect(try JSONColumn.list(SQLRow(values: ["c": .text(#"["\u00e9", "x"]"#)]), "c") == ["é", "x"])
        #expect(try JSONColumn.list(SQLRow(values: ["c": .null]), "c") == [])
        #expect(try JSONColumn.list(SQLRow(values: ["c": .text("not json")]), "c") == [])
    }

    @Test("the hero's own reader reads every column as the column list does, NULLs and all")
    func heroReader() throws {
        var full = Hero()
        full.id = "h1"
        full.name = "Mira"
        full.age = 7
        full.traits = ["brave", "kind \"really\""]
        full.appearance = "Curly hair"
        full.abilities = ["magic"]
        full.avatarURL = "/media/a.png"
        full.avatarPrompt = "a portrait"
        full.avatarGenerationID = "g1"
        full.visualProfile.hairColor = "red"
        full.storyCount = 3
        full.createdAt = .init(seconds: 1_700_000_000)
        full.updatedAt = .init(seconds: 1_700_000_500)
        var bare = full
        bare.clearAvatarURL()
        bare.clearAvatarPrompt()
        bare.clearAvatarGenerationID()
        bare.clearVisualProfile()
        bare.traits = []
        for hero in [full, bare] {
            let row = try Self.row(hero)
            #expect(try HeroStore.read(row) == hero)
            #expect(try HeroStore.read(row) == HeroStore.columns.read(row))
        }
        // Every column of the list is one the reader reads: without it, the read fails naming it.
        for column in HeroStore.columns.names().map(\.name) {
            var values = try Self.row(full).values
            values[column] = nil
            #expect(throws: DatabaseError.missingColumn(column)) { try HeroStore.read(SQLRow(values: values)) }
        }
    }

    private static func row(_ hero: Hero) throws -> SQLRow {
        SQLRow(values: Dictionary(uniqueKeysWithValues: try HeroStore.columns.values(of: hero).map { ($0.0.name, $0.1) }))
    }
}
