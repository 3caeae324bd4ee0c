/// The local provider's stories: templates in English, Spanish, French, German and Italian
/// that use the hero's name, age, traits and abilities and the event (a known event's name in
/// the language, or the custom event's title and prompt seed). The seed picks among openings
/// and endings, so two stories of one hero differ while the same seed repeats.
struct LocalStoryWriter: StoryWriter {
    let name = "local"

    struct Language {
        let titles: [String]          // {name}, {event}
        let openings: [String]        // {name}, {age}, {trait}
        let middle: [String]          // {name}, {event}, {ability}, {trait2}
        let endings: [String]         // {name}
        let and: String
        let events: [String: String]
        let someEvent: String
    }

    static let languages: [String: Language] = [
        "en": Language(
            titles: ["{name} and the {event}", "{name}'s {event}", "The night of the {event}"],
            openings: ["Once upon a time there was a {trait} child called {name}, who was {age} years old.",
                       "In a little house at the edge of the wood lived {name}, {age} years old and very {trait}."],
            middle: ["One evening came the {event}. {name} took a deep breath and remembered a special gift: {ability}.",
                     "With a smile, {name} used {ability} to help a friend who was lost, because {name} was {trait2}.",
                     "The stars came out one by one, and everyone said that the {event} had never been so bright."],
            endings: ["Then {name} curled up under a warm blanket and fell asleep, dreaming of tomorrow. The end.",
                      "And so {name} went to bed happy, knowing that being brave is easier with friends. Good night."],
            and: "and",
            events: ["bedtime": "bedtime adventure", "first_day_of_school": "first day of school", "birthday": "birthday party",
                     "holiday": "holiday", "new_sibling": "new baby in the family", "moving_house": "move to a new home"],
            someEvent: "great adventure"),
        "es": Language(
            titles: ["{name} y la aventura: {event}", "El cuento de {name}: {event}", "La noche de {name}"],
            openings: ["Había una vez un niño muy {trait} llamado {name}, que tenía {age} años.",
                       "En una casita al borde del bosque vivía {name}, de {age} años y muy {trait}."],
            middle: ["Una tarde llegó el momento: {event}. {name} respiró hondo y recordó su don especial: {ability}.",
                     "Con una sonrisa, {name} usó {ability} para ayudar a un amigo perdido, porque {name} era {trait2}.",
                     "Las estrellas salieron una a una, y todos dijeron que nunca había sido tan bonito."],
            endings: ["Después {name} se acurrucó bajo una manta calentita y se durmió soñando con mañana. Fin.",
                      "Y así {name} se fue a la cama feliz, sabiendo que ser valiente es más fácil con amigos. Buenas noches."],
            and: "y",
            events: ["bedtime": "la hora de dormir", "first_day_of_school": "el primer día de colegio", "birthday": "la fiesta de cumpleaños",
                     "holiday": "las vacaciones", "new_sibling": "la llegada de un hermanito", "moving_house": "la mudanza a una casa nueva"],
            someEvent: "una gran aventura"),
        "fr": Language(
            titles: ["{name} et {event}", "L'histoire de {name} : {event}", "La nuit de {name}"],
            openings: ["Il était une fois un enfant très {trait} nommé {name}, qui avait {age} ans.",
                       "Dans une petite maison au bord de la forêt vivait {name}, {age} ans, très {trait}."],
            middle: ["Un soir arriva le grand moment : {event}. {name} prit une grande inspiration et se souvint de son don : {ability}.",
                     "Avec un sourire, {name} utilisa {ability} pour aider un ami perdu, car {name} était {trait2}.",
                     "Les étoiles apparurent une à une, et tout le monde dit que ce n'avait jamais été aussi beau."],
            endings: ["Puis {name} se blottit sous une couverture bien chaude et s'endormit en rêvant de demain. Fin.",
                      "Et {name} alla se coucher heureux, sachant qu'on est plus courageux avec des amis. Bonne nuit."],
            and: "et",
            events: ["bedtime": "l'heure du coucher", "first_day_of_school": "le premier jour d'école", "birthday": "la fête d'anniversaire",
                     "holiday": "les vacances", "new_sibling": "l'arrivée d'un petit frère", "moving_house": "le déménagement"],
            someEvent: "une grande aventure"),
        "de": Language(
            titles: ["{name} und {event}", "Die Geschichte von {name}: {event}", "Die Nacht von {name}"],
            openings: ["Es war einmal ein sehr {trait} Kind namens {name}, das {age} Jahre alt war.",
                       "In einem kleinen Haus am Waldrand wohnte {name}, {age} Jahre alt und sehr {trait}."],
            middle: ["Eines Abends war es so weit: {event}. {name} atmete tief ein und erinnerte sich an eine besondere Gabe: {ability}.",
                     "Mit einem Lächeln half {name} mit {ability} einem verirrten Freund, denn {name} war {trait2}.",
                     "Die Sterne gingen einer nach dem anderen auf, und alle sagten, so schön sei es noch nie gewesen."],
            endings: ["Dann kuschelte sich {name} unter eine warme Decke und schlief ein, träumend von morgen. Ende.",
                      "Und so ging {name} glücklich ins Bett, denn mit Freunden ist man mutiger. Gute Nacht."],
            and: "und",
            events: ["bedtime": "die Schlafenszeit", "first_day_of_school": "der erste Schultag", "birthday": "die Geburtstagsfeier",
                     "holiday": "die Ferien", "new_sibling": "ein neues Geschwisterchen", "moving_house": "der Umzug in ein neues Zuhause"],
            someEvent: "ein großes Abenteuer"),
        "it": Language(
            titles: ["{name} e {event}", "La storia di {name}: {event}", "La notte di {name}"],
            openings: ["C'era una volta un bambino molto {trait} di nome {name}, che aveva {age} anni.",
                       "In una casetta ai margini del bosco viveva {name}, di {age} anni e molto {trait}."],
            middle: ["Una sera arrivò il momento: {event}. {name} fece un bel respiro e si ricordò del suo dono speciale: {ability}.",
                     "Con un sorriso, {name} usò {ability} per aiutare un amico che si era perso, perché {name} era {trait2}.",
                     "Le stelle spuntarono una a una, e tutti dissero che non era mai stato così bello."],
            endings: ["Poi {name} si rannicchiò sotto una coperta calda e si addormentò sognando il domani. Fine.",
                      "E così {name} andò a letto felice, sapendo che con gli amici si è più coraggiosi. Buonanotte."],
            and: "e",
            events: ["bedtime": "l'ora della nanna", "first_day_of_school": "il primo giorno di scuola", "birthday": "la festa di compleanno",
                     "holiday": "le vacanze", "new_sibling": "l'arrivo di un fratellino", "moving_house": "il trasloco in una casa nuova"],
            someEvent: "una grande avventura"),
    ]

    func write(_ brief: StoryBrief, control: JobControl) async throws -> WrittenStory {
        let language = Self.languages[brief.language] ?? Self.languages["en"]!  // '!' is fine: "en" is above.
        let event = brief.customTitle ?? brief.eventType.map { language.events[$0] ?? $0.replacingOccurrences(of: "_", with: " ") } ?? language.someEvent
        let pick = { (choices: [String], salt: Int64) in choices[Int(UInt64(bitPattern: (brief.seed &+ salt) & 0x7FFF_FFFF) % UInt64(choices.count))] }
        let traits = brief.traits.isEmpty ? ["brave"] : brief.traits
        let ability = brief.abilities.isEmpty ? (language.and == "and" ? "a kind heart" : traits[0]) : brief.abilities.joined(separator: " \(language.and) ")
        let fill = { (text: String) in
            text.replacingOccurrences(of: "{name}", with: brief.heroName).replacingOccurrences(of: "{age}", with: String(brief.age))
                .replacingOccurrences(of: "{trait}", with: traits[0]).replacingOccurrences(of: "{trait2}", with: traits.count > 1 ? traits[1] : traits[0])
                .replacingOccurrences(of: "{event}", with: event).replacingOccurrences(of: "{ability}", with: ability)
        }
        var paragraphs = [fill(pick(language.openings, 1))]
        if !brief.appearance.isEmpty { paragraphs[0] += " (\(brief.appearance))" }
        paragraphs += language.middle.map(fill)
        if let prompt = brief.customPrompt, !prompt.isEmpty { paragraphs.insert(prompt, at: 2) }
        paragraphs.append(fill(pick(language.endings, 2)))
        return WrittenStory(title: String(fill(pick(language.titles, 3)).prefix(200)), content: paragraphs.joined(separator: "\n\n"),
                            provider: name, model: "templates", promptTokens: 0, completionTokens: 0)
    }
}
