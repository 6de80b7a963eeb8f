/// A failure a tool reports as one line on standard error, with an exit status.
///
/// `ParsableCommand.runAsTool()` catches it: `tool: description` and `exitStatus`.
package protocol ToolFailure: Error, CustomStringConvertible {
    /// The status the process ends with.
    var exitStatus: Int32 { get }
}

/// A bad command-line value, described in one line; exit status 2.
package struct UsageError: ToolFailure {
    /// What is wrong, naming the value.
    package var description: String

    /// An error with the given one-line description.
    package init(_ description: String) {
        self.description = description
    }

    /// Bad arguments: 2.
    package var exitStatus: Int32 { ToolExitStatus.usage }
}
