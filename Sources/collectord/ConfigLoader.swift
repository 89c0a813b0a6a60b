import CollectorCore
import CollectorService
import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif
import SystemIO

/// Reads and validates a config file (all problems at once, with YAML paths and lines).
enum ConfigLoader {
    struct ReadError: Error, CustomStringConvertible {
        var description: String
    }

    static func load(path: String) throws -> CollectorConfig {
        let bytes: [UInt8]?
        do throws(SystemError) {
            bytes = try Sys.readFile(path)
        } catch {
            throw ReadError(description: "cannot read config file \(path): \(SystemError.message(error.errno))")
        }
        guard let bytes else {
            throw ReadError(description: "cannot read config file \(path): \(SystemError.message(ENOENT))")
        }
        let text = String(decoding: bytes, as: UTF8.self)
        do {
            return try ComponentCatalog.parser.parse(yaml: text, file: path, environment: ProcessInfo.processInfo.environment)
        } catch {
            throw error
        }
    }
}
