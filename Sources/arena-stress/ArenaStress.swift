import ArgumentParser

@main
struct ArenaStress: ParsableCommand {
    func run() throws {}
}
