import Glibc
import SystemIO

/// The include/exclude patterns of the tailer: glob(3), plus `**` as a whole path component.
enum PathGlob {
    /// Paths matching the glob(3) pattern, unsorted. `**` as a whole path component matches
    /// any number of directories (including none), as in the OTel Collector's doublestar
    /// globs. Symbolic links to directories are not followed by `**` (no cycles), and it
    /// descends at most 16 levels.
    static func glob(_ pattern: String) -> [String] {
        let parts = pattern.split(separator: "/", omittingEmptySubsequences: false)
        guard let star = parts.firstIndex(of: "**") else { return cGlob(pattern) }
        let base = parts[..<star].joined(separator: "/")
        let rest = parts[(star + 1)...].joined(separator: "/")
        let bases = base.isEmpty ? (pattern.hasPrefix("/") ? ["/"] : ["."]) : cGlob(base)
        var out: [String] = []
        var seen = Set<String>()
        for dir in bases {
            for sub in descendants(dir, depth: 16) {
                // Relative patterns give relative paths, as glob(3) does ("a/x.log", not "./a/x.log").
                let prefix = if sub == "." { "" }
                    else if base.isEmpty && sub.hasPrefix("./") { String(sub.dropFirst(2)) + "/" }
                    else if sub == "/" { "/" }
                    else { sub + "/" }
                for path in glob(prefix + rest) where seen.insert(path).inserted { out.append(path) }
            }
        }
        return out
    }

    private static func cGlob(_ pattern: String) -> [String] {
        var g = glob_t()
        defer { globfree(&g) }
        guard Glibc.glob(pattern, 0, nil, &g) == 0 else { return [] }
        var out: [String] = []
        for i in 0..<Int(g.gl_pathc) {
            if let p = g.gl_pathv[i] { out.append(String(cString: p)) }
        }
        return out
    }

    /// `dir` and every directory below it (not through symbolic links), depth-first.
    private static func descendants(_ dir: String, depth: Int) -> [String] {
        var out = [dir]
        guard depth > 0, let entries = try? Sys.entries(dir) else { return out }
        var children: [String] = []
        for entry in entries {
            let path = dir == "/" ? "/" + entry.name : dir + "/" + entry.name
            // Some file systems do not say: ask.
            let isDirectory = entry.isDirectory ?? ((try? Sys.lstat(path))?.isDirectory ?? false)
            if isDirectory { children.append(path) }
        }
        for child in children.sorted() { out += descendants(child, depth: depth - 1) }
        return out
    }

    static func matches(_ pattern: String, _ path: String) -> Bool {
        fnmatch(pattern, path, 0) == 0
    }
}
