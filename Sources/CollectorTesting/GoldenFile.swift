import Foundation

/// Golden-file comparison for the tests: `compare` returns nil when `actual` equals the file,
/// else a message naming the first differing line; with `UPDATE_GOLDEN=1` in the environment it
/// rewrites the file instead (and returns nil).
public enum GoldenFile {
    public static func compare(_ actual: String, with url: URL) throws -> String? {
        if ProcessInfo.processInfo.environment["UPDATE_GOLDEN"] == "1" {
            try Data(actual.utf8).write(to: url)
            return nil
        }
        let expected = String(decoding: try Data(contentsOf: url), as: UTF8.self)
        guard actual != expected else { return nil }
        let a = actual.split(separator: "\n", omittingEmptySubsequences: false)
        let e = expected.split(separator: "\n", omittingEmptySubsequences: false)
        let line = zip(a, e).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(a.count, e.count)
        return """
            \(url.lastPathComponent) differs at line \(line + 1):
              got:  \(line < a.count ? String(a[line]) : "<end>")
              want: \(line < e.count ? String(e[line]) : "<end>")
            (UPDATE_GOLDEN=1 regenerates)
            """
    }
}
