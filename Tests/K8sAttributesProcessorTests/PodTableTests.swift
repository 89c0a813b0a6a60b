import Testing
@testable import K8sAttributesProcessor

/// The table's indexes, the deletion grace, reused IPs and relists.
@Suite struct PodTableTests {
    static func record(_ uid: String, ip: String?, created: String = "2026-12-01T10:00:00Z", name: String? = nil,
                       containers: [String: String] = [:]) -> PodRecord {
        PodRecord(uid: uid, namespace: "shop", name: name ?? "pod-\(uid)", ips: ip.map { [$0] } ?? [], created: created,
                  attributes: [PreparedAttribute("k8s.pod.uid", uid)], containers: [:], containerIDs: containers)
    }

    @Test func lookupsByEveryIndex() {
        var t = PodTable(grace: 120)
        let added = t.upsert(Self.record("u1", ip: "10.0.0.1", containers: ["c1": "app"]))
        let addedAgain = t.upsert(Self.record("u1", ip: "10.0.0.1", containers: ["c1": "app"]))
        #expect(added)
        #expect(!addedAgain, "an update is not an add")
        #expect(t.pod(ip: "10.0.0.1")?.uid == "u1")
        #expect(t.pod(uid: "u1")?.uid == "u1")
        #expect(t.pod(containerID: "c1")?.uid == "u1")
        #expect(t.pod(namespace: "shop", name: "pod-u1")?.uid == "u1")
        #expect(t.pod(ip: "10.0.0.2") == nil)
        // A changed IP drops the old index entry.
        t.upsert(Self.record("u1", ip: "10.0.0.2"))
        #expect(t.pod(ip: "10.0.0.1") == nil)
        #expect(t.pod(ip: "10.0.0.2")?.uid == "u1")
        #expect(t.pod(containerID: "c1") == nil)
    }

    @Test func aDeletedPodAnswersForTheGraceThenGoes() {
        var t = PodTable(grace: 120)
        t.upsert(Self.record("u1", ip: "10.0.0.1"))
        let deleted = t.delete(uid: "u1", now: 1000)
        let deletedAgain = t.delete(uid: "u1", now: 1001)
        #expect(deleted)
        #expect(!deletedAgain, "a second delete is not counted")
        t.expire(now: 1119)
        #expect(t.pod(ip: "10.0.0.1")?.uid == "u1")
        #expect(t.nextExpiry == 1120)
        t.expire(now: 1120)
        #expect(t.pod(ip: "10.0.0.1") == nil)
        #expect(t.pod(uid: "u1") == nil)
        #expect(t.count == 0)
        #expect(t.nextExpiry == nil)
    }

    @Test func aReusedIPMapsToTheNewPodAndTheOldOnesExpiryLeavesIt() {
        var t = PodTable(grace: 120)
        t.upsert(Self.record("old", ip: "10.0.0.1", created: "2026-12-01T10:00:00Z"))
        t.delete(uid: "old", now: 0)
        t.upsert(Self.record("new", ip: "10.0.0.1", created: "2026-12-01T10:05:00Z"))
        #expect(t.pod(ip: "10.0.0.1")?.uid == "new")
        #expect(t.pod(uid: "old")?.uid == "old", "the old pod still answers by uid during its grace")
        t.expire(now: 500)
        #expect(t.pod(ip: "10.0.0.1")?.uid == "new")
        #expect(t.count == 1)
    }

    @Test func betweenTwoLivePodsTheNewerHoldsTheIP() {
        var t = PodTable(grace: 120)
        t.upsert(Self.record("newer", ip: "10.0.0.1", created: "2026-12-01T10:05:00Z"))
        // An update of an older pod (events out of order across a relist) does not take it back.
        t.upsert(Self.record("older", ip: "10.0.0.1", created: "2026-12-01T10:00:00Z"))
        #expect(t.pod(ip: "10.0.0.1")?.uid == "newer")
        t.delete(uid: "newer", now: 0)
        t.upsert(Self.record("older", ip: "10.0.0.1", created: "2026-12-01T10:00:00Z"))
        #expect(t.pod(ip: "10.0.0.1")?.uid == "older", "a deleted pod gives way")
    }

    @Test func aRelistDeletesWhatIsGoneAndRevivesWhatCameBack() {
        var t = PodTable(grace: 100)
        t.upsert(Self.record("a", ip: "10.0.0.1"))
        t.upsert(Self.record("b", ip: "10.0.0.2"))
        let counts = t.replaceAll([Self.record("b", ip: "10.0.0.2"), Self.record("c", ip: "10.0.0.3")], now: 0)
        #expect(counts == (1, 1, 1))
        t.delete(uid: "c", now: 10)
        _ = t.replaceAll([Self.record("b", ip: "10.0.0.2"), Self.record("c", ip: "10.0.0.3")], now: 20)
        t.expire(now: 1000)
        #expect(t.pod(uid: "a") == nil)
        #expect(t.pod(uid: "c")?.uid == "c", "c came back in the list after its delete: its old deadline no longer applies")
        #expect(t.count == 2)
    }
}
