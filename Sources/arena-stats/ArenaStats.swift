import ArgumentParser

@main
struct ArenaStats: ParsableCommand {
    func run() throws {}
}
