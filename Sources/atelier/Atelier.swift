import ArgumentParser

@main
struct Atelier: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Atelier: AI characters, stories and stores.",
        subcommands: [DevCommand.self, ServeCommand.self, MigrateCommand.self, KeysCommand.self, CredentialCommand.self, ProbeCommand.self])
}
