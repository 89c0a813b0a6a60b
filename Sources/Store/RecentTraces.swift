import OTLPCodec

/// A bounded set of trace ids, oldest dropped first: the traces the store lately found hot
/// (see `BlockLayout`). A value type; `TraceStore` keeps it behind a Mutex.
struct RecentTraces: Sendable {
    let capacity: Int
    private var members: Set<OTLPTraceID> = []
    private var order: [OTLPTraceID] = []
    private var head = 0

    init(capacity: Int) {
        self.capacity = capacity
    }

    func contains(_ id: OTLPTraceID) -> Bool { members.contains(id) }

    var count: Int { members.count }

    mutating func insert(contentsOf ids: [OTLPTraceID]) {
        for id in ids where members.insert(id).inserted {
            if order.count < capacity {
                order.append(id)
            } else {
                members.remove(order[head])
                order[head] = id
                head = (head + 1) % capacity
            }
        }
    }
}
