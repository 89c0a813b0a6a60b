import CollectorCore
import CollectorService
import Foundation

/// Reads and validates a config file (all problems at once, with YAML paths and lines).
enum ConfigLoader {
    struct ReadError: Error, CustomStringConvertible {
        var description: String
    }

    static func load(path: String) throws -> CollectorConfig {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ReadError(description: "cannot read config file \(path): \((error as NSError).localizedDescription)")
        }
        do {
            return try ComponentCatalog.parser.parse(yaml: text, file: path, environment: ProcessInfo.processInfo.environment)
        } catch {
            throw error
        }
    }
}
