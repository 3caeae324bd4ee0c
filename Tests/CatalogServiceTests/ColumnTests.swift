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
}
