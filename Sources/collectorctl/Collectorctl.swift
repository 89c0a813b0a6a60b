import ArgumentParser

/// `collectorctl`: the command-line client of collectord's query API.
@main
struct Collectorctl: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "collectorctl",
        abstract: "Query traces and their logs stored by collectord.",
        discussion: """
            Talks to the query extension's HTTP API, chosen with --endpoint, else the \
            COLLECTORCTL_ENDPOINT environment variable, else http://127.0.0.1:16686.
            """,
        subcommands: [TraceCommand.self, SearchCommand.self, SLOCommand.self])
}
