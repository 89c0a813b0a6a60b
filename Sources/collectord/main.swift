import ArgumentParser
import CollectorCore
import CollectorService
#if canImport(Glibc)
import Glibc
#endif

struct Collectord: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "collectord",
        abstract: "A telemetry collector: OTLP in, pipelines of processors, exporters out.",
        subcommands: [Run.self, Validate.self],
        defaultSubcommand: Run.self)
}

struct ConfigOption: ParsableArguments {
    @Option(name: .long, help: "Path to the collector's YAML config file.")
    var config: String
}

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "run", abstract: "Run the collector (the default).")

    @OptionGroup var options: ConfigOption

    @Option(name: .long, help: "How long a graceful shutdown may take, e.g. 20s.")
    var shutdownTimeout: String = "20s"

    func run() throws {
        guard let timeout = DurationParser.nanoseconds(shutdownTimeout) else {
            throw ValidationError("invalid --shutdown-timeout \"\(shutdownTimeout)\"")
        }
        Daemon(configPath: options.config, shutdownTimeout: timeout).run()
    }
}

struct Validate: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Check a config file without starting anything.")

    @OptionGroup var options: ConfigOption

    func run() throws {
        do {
            let config = try ConfigLoader.load(path: options.config)
            for warning in config.warnings { standardError("\(options.config): warning: \(warning)\n") }
            print("\(options.config): configuration is valid")
        } catch {
            standardError("\(error)\n")
            throw ExitCode(1)
        }
    }
}

Collectord.main()

/// Writes `text` to standard error unbuffered (the daemon links no Foundation).
func standardError(_ text: String) {
    let bytes = Array(text.utf8)
    var done = 0
    while done < bytes.count {
        let n = bytes.withUnsafeBytes { Glibc.write(2, $0.baseAddress! + done, $0.count - done) }
        if n < 0, errno == EINTR { continue }
        if n <= 0 { return }
        done += n
    }
}
