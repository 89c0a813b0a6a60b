/// The pods enrichment can answer for, indexed the ways telemetry names them: IP (the
/// connection or `k8s.pod.ip`), uid (`k8s.pod.uid`, a `/var/log/pods` path), container id,
/// and namespace/name.
///
/// Design: a deleted pod stays for `grace` (its last spans and log lines arrive after the
/// API says it is gone) and is then removed; removals run from a FIFO of deadlines (every
/// deletion gets the same grace, so the queue is in deadline order). An index entry names
/// one uid; when two pods claim an IP (the IP of a pod being deleted given to a new one, or a
/// relist that raced a restart), the pod not deleted wins, and between two live ones the one
/// created later, so reused IPs map to the new pod at once. Removing a pod only removes the
/// index entries still naming it. Not thread-safe: the processor keeps it under a mutex.
struct PodTable {
    struct Entry {
        var record: PodRecord
        /// When a deleted pod goes (nil: live).
        var expires: UInt64?
    }

    let grace: UInt64
    private(set) var pods: [String: Entry] = [:]
    private var byIP: [String: String] = [:]
    private var byContainerID: [String: String] = [:]
    private var byName: [String: String] = [:]
    private var expiring: [(uid: String, deadline: UInt64)] = []
    private var expiringHead = 0
    var namespaces: [String: NamespaceRecord] = [:]

    init(grace: UInt64) { self.grace = grace }

    var count: Int { pods.count }

    func pod(ip: String) -> PodRecord? { byIP[ip].flatMap { pods[$0]?.record } }
    func pod(uid: String) -> PodRecord? { pods[uid]?.record }
    func pod(containerID: String) -> PodRecord? { byContainerID[containerID].flatMap { pods[$0]?.record } }
    func pod(namespace: String, name: String) -> PodRecord? { byName[namespace + "/" + name].flatMap { pods[$0]?.record } }

    /// Adds or replaces a pod; returns whether it was new.
    @discardableResult
    mutating func upsert(_ record: PodRecord) -> Bool {
        let old = pods[record.uid]
        if let old { unindex(old.record, keeping: record) }
        pods[record.uid] = Entry(record: record, expires: nil)
        for ip in record.ips where wins(record, over: byIP[ip]) { byIP[ip] = record.uid }
        for id in record.containerIDs.keys where wins(record, over: byContainerID[id]) { byContainerID[id] = record.uid }
        let name = record.namespace + "/" + record.name
        if wins(record, over: byName[name]) { byName[name] = record.uid }
        return old == nil
    }

    /// Marks a pod deleted: it still answers until `now + grace`. Returns whether it was live.
    @discardableResult
    mutating func delete(uid: String, now: UInt64) -> Bool {
        guard pods[uid] != nil, pods[uid]?.expires == nil else { return false }
        let deadline = now + grace
        pods[uid]?.expires = deadline
        expiring.append((uid, deadline))
        return true
    }

    /// A new list: pods not in it are deleted (with the grace), the others upserted. Returns
    /// how many were added, updated and deleted.
    mutating func replaceAll(_ records: [PodRecord], now: UInt64) -> (added: Int, updated: Int, deleted: Int) {
        let listed = Set(records.map(\.uid))
        var deleted = 0
        for uid in pods.keys where !listed.contains(uid) { if delete(uid: uid, now: now) { deleted += 1 } }
        var added = 0
        for record in records { if upsert(record) { added += 1 } }
        return (added, records.count - added, deleted)
    }

    /// Removes the deleted pods whose grace has passed.
    mutating func expire(now: UInt64) {
        while expiringHead < expiring.count, expiring[expiringHead].deadline <= now {
            let (uid, deadline) = expiring[expiringHead]
            expiringHead += 1
            // A pod seen again after its deletion (a relist) has a new or no deadline.
            guard let entry = pods[uid], entry.expires == deadline else { continue }
            unindex(entry.record, keeping: nil)
            pods[uid] = nil
        }
        if expiringHead > 64, expiringHead * 2 > expiring.count {
            expiring.removeFirst(expiringHead)
            expiringHead = 0
        }
    }

    /// The earliest deadline of a deleted pod, if any.
    var nextExpiry: UInt64? { expiringHead < expiring.count ? expiring[expiringHead].deadline : nil }

    /// Whether `record` takes an index entry now held by `holder`: unless the holder is a
    /// live pod created later.
    private func wins(_ record: PodRecord, over holder: String?) -> Bool {
        guard let holder, holder != record.uid, let other = pods[holder] else { return true }
        return !(other.expires == nil && other.record.created > record.created)
    }

    /// Drops `old`'s index entries that still name it and that `new` (its replacement) does not hold.
    private mutating func unindex(_ old: PodRecord, keeping new: PodRecord?) {
        for ip in old.ips where new?.ips.contains(ip) != true && byIP[ip] == old.uid { byIP[ip] = nil }
        for id in old.containerIDs.keys where new?.containerIDs[id] == nil && byContainerID[id] == old.uid { byContainerID[id] = nil }
        let name = old.namespace + "/" + old.name
        if new == nil, byName[name] == old.uid { byName[name] = nil }
    }
}
