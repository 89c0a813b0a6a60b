@testable import ServiceGraphConnector
import Testing

/// `PendingEdges`, the servicegraph connector's table of half-seen edges, against a
/// `Dictionary` doing the same operations: what is found, removed and expired must agree
/// through growth and the backward shifts of removal.
@Suite struct PendingEdgesTests {
    static func side(_ service: Int32) -> EdgeGraph.Side {
        EdgeGraph.Side(service: service, durationSeconds: 0.5, failed: false, messaging: false, extra: service % 3 == 0 ? service : -1)
    }

    @Test func agreesWithADictionaryThroughInsertsRemovalsAndGrowth() {
        var table = PendingEdges()
        var model: [EdgeGraph.EdgeKey: EdgeGraph.Pending] = [:]
        var random = SystemRandomNumberGenerator()
        // Few distinct high words, so many keys share home slots and removals shift runs.
        var keys: [EdgeGraph.EdgeKey] = []
        for i in 0..<3_000 {
            keys.append(EdgeGraph.EdgeKey(high: UInt64(i % 7), low: UInt64(i / 7), span: UInt64.random(in: 0...3, using: &random)))
        }
        for step in 0..<20_000 {
            let key = keys[Int.random(in: 0..<keys.count, using: &random)]
            if model[key] == nil {
                let pending = EdgeGraph.Pending(client: Self.side(Int32(step % 1000)), server: nil, expires: UInt64(step))
                table.insert(key, pending)
                model[key] = pending
            } else if step % 3 == 0 {
                let index = table.find(key)
                #expect(index != nil)
                if let index {
                    var entry = table[entry: index]
                    entry.server = Self.side(7)
                    table[entry: index] = entry
                    model[key]?.server = Self.side(7)
                }
            } else {
                let removed = table.remove(key)
                #expect(removed?.expires == model[key]?.expires && removed?.client?.service == model[key]?.client?.service)
                model[key] = nil
            }
            #expect(table.count == model.count)
        }
        for key in keys {
            let index = table.find(key)
            #expect((index == nil) == (model[key] == nil))
            if let index, let expected = model[key] {
                let entry = table[entry: index]
                #expect(entry.expires == expected.expires && entry.client?.extra == expected.client?.extra)
                #expect(entry.server?.service == expected.server?.service)
            }
        }
        // Expiry: the keys at or before a time, each once.
        let cut = UInt64(10_000)
        let expired = table.expired(now: cut)
        #expect(Set(expired) == Set(model.filter { $0.value.expires <= cut }.keys))
        #expect(expired.count == Set(expired).count)
        for key in expired { table.remove(key) }
        #expect(table.count == model.filter { $0.value.expires > cut }.count)
        #expect(table.remove(EdgeGraph.EdgeKey(high: 99, low: 99, span: 99)) == nil)
    }
}
