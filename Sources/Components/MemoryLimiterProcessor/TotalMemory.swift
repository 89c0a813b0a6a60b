import CollectorCore
import SystemIO

/// The memory this process may use, which `limit_percentage` and `spike_limit_percentage` are
/// percentages of: the memory limit of its cgroup when it has one, else the machine's
/// `MemTotal` (and never more than that).
///
/// The cgroup is read from `/proc/self/cgroup`: the v1 hierarchy with the `memory` controller
/// (`memory.limit_in_bytes` under `/sys/fs/cgroup/memory`) when there is one, else the v2
/// entry `0::<path>` (`memory.max` under `/sys/fs/cgroup`, or `/sys/fs/cgroup/unified` on a
/// hybrid host). The smallest limit of the cgroup and its ancestors counts, since each one
/// bounds the process. Levels missing under the mount are skipped: in a container whose
/// cgroup is mounted as the root without a cgroup namespace, `/proc/self/cgroup` names the
/// host's path and only the mount's own file exists. "max", and the huge numbers v1 writes
/// for "unlimited" (9223372036854771712), mean no limit. (Upstream reads mountinfo to find the
/// mounts; the fixed paths above are where every container runtime and systemd mount them.)
struct TotalMemory {
    struct Reading: Sendable, Equatable {
        var bytes: UInt64
        /// Which file gave it, for the configuration log line.
        var source: String
    }

    /// Limits at or above this are "unlimited" (v1 writes 2^63 rounded down to a page).
    static let unlimited: UInt64 = 1 << 62

    /// Prefixed to `/proc` and `/sys` (empty: the real ones; tests use a fake tree).
    let root: String

    func bytes() throws(ComponentError) -> Reading {
        let total = memTotal()
        if let limit = cgroupLimit(), limit.bytes < (total?.bytes ?? .max) { return limit }
        guard let total else { throw .permanent("cannot read MemTotal from \(root)/proc/meminfo") }
        return total
    }

    /// `MemTotal` of `/proc/meminfo` in bytes.
    func memTotal() -> Reading? {
        guard let text = Sys.readText(root + "/proc/meminfo") else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("MemTotal:") {
            let fields = line.split(separator: " ")
            guard fields.count >= 2, let kib = UInt64(fields[1]) else { return nil }
            let unit: UInt64 = fields.count > 2 && fields[2] == "kB" ? 1024 : 1
            return Reading(bytes: kib * unit, source: "/proc/meminfo MemTotal")
        }
        return nil
    }

    /// The smallest memory limit of this process's cgroup and its ancestors, if any.
    func cgroupLimit() -> Reading? {
        guard let text = Sys.readText(root + "/proc/self/cgroup") else { return nil }
        var v1: Substring?
        var v2: Substring?
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count == 3 else { continue }
            if parts[0] == "0" && parts[1].isEmpty {
                v2 = parts[2]
            } else if parts[1].split(separator: ",").contains("memory") {
                v1 = parts[2]
            }
        }
        if let v1 { return smallest(mounts: ["/sys/fs/cgroup/memory"], path: v1, file: "memory.limit_in_bytes") }
        if let v2 { return smallest(mounts: ["/sys/fs/cgroup", "/sys/fs/cgroup/unified"], path: v2, file: "memory.max") }
        return nil
    }

    /// Under the first of `mounts` holding `file` at its top: the smallest limit in `file` of
    /// `path` and each of its ancestors.
    private func smallest(mounts: [String], path: Substring, file: String) -> Reading? {
        guard let mount = mounts.first(where: { Sys.readText(root + $0 + "/" + file) != nil }) else { return nil }
        var levels = [""]
        var prefix = ""
        for part in path.split(separator: "/") {
            prefix += "/" + part
            levels.append(prefix)
        }
        var best: Reading?
        for level in levels {
            let name = mount + level + "/" + file
            guard let text = Sys.readText(root + name), let bytes = Self.limit(text) else { continue }
            if bytes < (best?.bytes ?? .max) { best = Reading(bytes: bytes, source: name) }
        }
        return best
    }

    /// A limit file's value in bytes; nil for "max", unlimited or unreadable values.
    static func limit(_ text: String) -> UInt64? {
        let value = text.split(whereSeparator: { $0 == "\n" || $0 == " " || $0 == "\t" }).first ?? ""
        guard let bytes = UInt64(value), bytes > 0, bytes < unlimited else { return nil }
        return bytes
    }
}
