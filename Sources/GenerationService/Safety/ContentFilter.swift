import ServiceKit

/// The PRD's safety filter for children's stories (section 9, "Content Safety Filter"), on every
/// prompt a user's words reach: a blocklist that refuses the request, naming the field, and a
/// term filter that turns frightening words into gentle ones. The user's content filter level
/// (strict, moderate, relaxed; moderate by default) says how much of it applies:
/// - strict: the blocklist, its stricter words too, and the term filter;
/// - moderate: the blocklist and the term filter;
/// - relaxed: the blocklist only; the words are passed on as written.
/// Words are matched whole and without regard to case, in the request's language and in English.
struct ContentFilter: Sendable {
    enum Level: String, Sendable {
        case strict, moderate, relaxed
    }

    let level: Level

    init(level: String) {
        self.level = Level(rawValue: level) ?? .moderate
    }

    /// Refuses `text` when it holds a blocked word: the error names the field and the word.
    func check(_ text: String, field: String, language: String) throws {
        guard !text.isEmpty else { return }
        let blocked = Self.blocked(language: language, strict: level == .strict)
        for word in Self.words(text) where blocked.contains(word) {
            throw ServiceError.invalid(field, "\(field) contains \"\(word)\", which is not allowed in a children's story; say it another way")
        }
    }

    /// `text` with the PRD's frightening words replaced by gentle ones, unless the level is relaxed.
    func soften(_ text: String, language: String) -> String {
        guard level != .relaxed, !text.isEmpty else { return text }
        let terms = SafetyTerms.gentle[language] ?? SafetyTerms.gentle["en"]!
        var result = ""
        result.reserveCapacity(text.utf8.count)
        var word = ""
        func flush() {
            guard !word.isEmpty else { return }
            result += terms[word.lowercased()] ?? word
            word = ""
        }
        for character in text {
            if character.isLetter || character == "'" && !word.isEmpty { word.append(character) } else {
                flush()
                result.append(character)
            }
        }
        flush()
        return result
    }

    /// Checks each named field, then softens it.
    func clean(_ fields: [(field: String, text: String)], language: String) throws -> [String] {
        try fields.map { entry in
            try check(entry.text, field: entry.field, language: language)
            return soften(entry.text, language: language)
        }
    }

    static func words(_ text: String) -> [String] {
        text.lowercased().split { !$0.isLetter }.map(String.init)
    }

    static func blocked(language: String, strict: Bool) -> Set<String> {
        var words = SafetyTerms.blocked["en"]!.union(SafetyTerms.blocked[language] ?? [])
        if strict { words.formUnion(SafetyTerms.strict["en"]!.union(SafetyTerms.strict[language] ?? [])) }
        return words
    }
}

/// The word lists, per language (en, es, fr, de, it). The gentle terms start from the PRD's
/// English and Spanish lists; French, German and Italian follow the same choices.
enum SafetyTerms {
    static let gentle: [String: [String: String]] = [
        "en": ["alone": "with friends", "isolated": "exploring", "abandoned": "on an adventure", "lost": "discovering",
               "scared": "excited", "violence": "challenge", "weapon": "tool", "hurt": "helped", "danger": "excitement",
               "nightmare": "dream"],
        "es": ["solo": "con amigos", "sola": "con amigos", "abandonado": "en una aventura", "abandonada": "en una aventura",
               "perdido": "descubriendo", "perdida": "descubriendo", "asustado": "emocionado", "asustada": "emocionada",
               "violencia": "desafío", "arma": "herramienta", "peligro": "emoción", "pesadilla": "sueño"],
        "fr": ["seul": "avec des amis", "seule": "avec des amis", "abandonné": "en pleine aventure", "abandonnée": "en pleine aventure",
               "perdu": "en pleine découverte", "perdue": "en pleine découverte", "effrayé": "enthousiaste", "effrayée": "enthousiaste",
               "violence": "défi", "arme": "outil", "danger": "aventure", "cauchemar": "rêve"],
        "de": ["allein": "mit Freunden", "einsam": "auf Entdeckungsreise", "verlassen": "auf einem Abenteuer",
               "verloren": "auf Entdeckungsreise", "ängstlich": "aufgeregt", "gewalt": "Herausforderung", "waffe": "Werkzeug",
               "gefahr": "Spannung", "albtraum": "Traum"],
        "it": ["solo": "con gli amici", "sola": "con gli amici", "abbandonato": "in un'avventura", "abbandonata": "in un'avventura",
               "perso": "alla scoperta", "persa": "alla scoperta", "spaventato": "emozionato", "spaventata": "emozionata",
               "violenza": "sfida", "arma": "strumento", "pericolo": "emozione", "incubo": "sogno"],
    ]

    /// Refused at every level.
    static let blocked: [String: Set<String>] = [
        "en": ["kill", "killing", "murder", "gun", "guns", "blood", "bloody", "gore", "sex", "sexy", "naked", "nude", "drug", "drugs",
               "cocaine", "suicide", "torture", "rape"],
        "es": ["matar", "asesinar", "asesinato", "pistola", "sangre", "sexo", "desnudo", "desnuda", "droga", "drogas", "cocaína",
               "suicidio", "tortura", "violación"],
        "fr": ["tuer", "meurtre", "pistolet", "sang", "sexe", "nu", "nue", "drogue", "drogues", "cocaïne", "suicide", "torture", "viol"],
        "de": ["töten", "mord", "pistole", "blut", "sex", "nackt", "droge", "drogen", "kokain", "selbstmord", "folter", "vergewaltigung"],
        "it": ["uccidere", "omicidio", "pistola", "sangue", "sesso", "nudo", "nuda", "droga", "droghe", "cocaina", "suicidio", "tortura",
               "stupro"],
    ]

    /// Refused at the strict level too.
    static let strict: [String: Set<String>] = [
        "en": ["fight", "fighting", "monster", "monsters", "dead", "death", "war", "ghost", "zombie", "demon", "scary"],
        "es": ["pelea", "monstruo", "monstruos", "muerte", "muerto", "guerra", "fantasma", "zombi", "demonio"],
        "fr": ["bagarre", "monstre", "monstres", "mort", "guerre", "fantôme", "zombie", "démon"],
        "de": ["kampf", "monster", "tot", "tod", "krieg", "gespenst", "zombie", "dämon"],
        "it": ["lotta", "mostro", "mostri", "morte", "morto", "guerra", "fantasma", "zombi", "demone"],
    ]
}
