/// What `--version` prints for our tools: the package's version and the jemalloc linked in.
package enum ToolVersion {
    /// The version of swift-arena the tools are built from (CHANGELOG.md names the changes).
    package static let package = "0.1.0-dev"

    /// `arena-stats 0.1.0-dev (jemalloc 5.3.0-0-g54eaed1d…)`; `(jemalloc not linked: …)` without it.
    package static func line(tool: String, jemalloc: String?) -> String {
        "\(tool) \(package) (jemalloc \(jemalloc ?? "not linked: built without the Jemalloc trait"))"
    }
}
