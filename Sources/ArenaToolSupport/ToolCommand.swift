import ArgumentParser

extension ParsableCommand {
    /// The tool's name in error lines.
    package static var toolName: String {
        configuration.commandName ?? String(describing: Self.self)
    }

    /// Parses the arguments (subcommands included), runs, and ends the process; every error is
    /// one line on standard error and an exit status, never swift-argument-parser's usage text
    /// and status 64.
    ///
    /// - Bad arguments (and errors thrown by `validate()`): the parser's message, first line
    ///   only, with ` (see TOOL --help)`; exit status 2.
    /// - A ``ToolFailure`` thrown by `run()`: its description; its `exitStatus`.
    /// - `--help`, `--version` and `ExitCode`: what swift-argument-parser does.
    ///
    /// A tool's `@main` type calls it from its `static func main()`.
    package static func runAsTool(_ arguments: [String]? = nil) -> Never {
        let name = toolName
        do {
            var command = try parseAsRoot(arguments)
            try command.run()
        } catch let failure as any ToolFailure {
            writeErrorLine(tool: name, failure.description)
            terminate(failure.exitStatus)
        } catch {
            // Help, version and other clean exits print what they print, with their status.
            if exitCode(for: error) == .success || error is ExitCode { exit(withError: error) }
            let message = message(for: error).split(whereSeparator: \.isNewline).first.map(String.init) ?? "\(error)"
            writeErrorLine(tool: name, "\(message) (see \(name) --help)")
            terminate(ToolExitStatus.usage)
        }
        terminate(ToolExitStatus.success)
    }
}
