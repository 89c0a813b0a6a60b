import Glibc
import SystemIO

/// A fresh directory under /tmp for one test, removed with everything in it at deinit.
final class Scratch {
    let path: String

    init() {
        var template = Array("/tmp/systemio-test-XXXXXX".utf8CString)
        path = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)) }
    }

    deinit { Self.remove(path) }

    func sub(_ name: String) -> String { path + "/" + name }

    /// Writes `text` to `name` (created or replaced), plainly.
    func write(_ name: String, _ text: String) throws {
        let fd = try Sys.open(sub(name), O_WRONLY | O_CREAT | O_TRUNC)
        defer { Sys.close(fd) }
        try Sys.write(fd, Array(text.utf8), path: sub(name))
    }

    func read(_ name: String) throws -> String? {
        try Sys.readFile(sub(name)).map { String(decoding: $0, as: UTF8.self) }
    }

    /// The names in the directory, sorted.
    func names(_ name: String? = nil) throws -> [String] {
        try Sys.list(name.map(sub) ?? path).sorted()
    }

    private static func remove(_ path: String) {
        if let entries = try? Sys.entries(path) {
            for entry in entries { remove(path + "/" + entry.name) }
            rmdir(path)
        } else {
            unlink(path)
        }
    }
}
