import Synchronization

/// Work on one batch that several exporters of a pipeline would each do alike: the first to
/// ask does it, the others take the result. The RED connectors share their read of every span
/// this way (`Exporter.spanAttributeKeys`), so a batch is walked once however many of them
/// there are.
///
/// Design:
/// - The pipeline's fan-out attaches a fresh memo to a batch it hands to two or more exporters
///   with `spanAttributeKeys`, naming the union of their `spanAttributeKeys` (sorted, each once)
///   and how many of them read it; any other fan-out clears it. So a memo is seen only by the
///   readers of one batch, all reading the same parts with the same keys.
/// - A result is kept per part (its position in `TelemetryBatch.forEachPart`) until each of
///   the `readers` has asked for it once, then forgotten: the readers hold it while they use
///   it, and a batch's results do not pile up.
/// - Bounded: the memos of one pipeline share a `Budget` of results kept at once. Readers
///   that run in step need one or two; one far behind the others (its exporter's queue
///   longer) would make them keep a result for every part between them, so past the budget a
///   result is not kept and the late reader makes its own.
/// - Making holds the memo's lock: a second reader arriving meanwhile waits for the result
///   instead of doing the same work on the other core. A make that throws keeps nothing: each
///   reader gets the error.
/// Correctness never depends on the counting: a result not kept is made again.
public final class BatchMemo: Sendable {
    /// The attribute keys every reader's result holds (the union of what they want).
    public let attributeKeys: [String]
    /// How many exporters ask for each result.
    public let readers: Int
    private let budget: Budget
    private let results: Mutex<[Int: Entry]>

    private struct Entry: @unchecked Sendable {
        // `@unchecked`: `value` is always a `Sendable` object (`shared` stores only those).
        var value: AnyObject?
        var asked: Int
    }

    /// How many results the memos sharing it keep at once.
    public final class Budget: Sendable {
        public let limit: Int
        private let kept = Atomic<Int>(0)

        public init(limit: Int) { self.limit = limit }

        /// Results kept now.
        public var count: Int { kept.load(ordering: .relaxed) }

        func take() -> Bool {
            var now = kept.load(ordering: .relaxed)
            while now < limit {
                let (exchanged, original) = kept.compareExchange(expected: now, desired: now + 1, ordering: .relaxed)
                if exchanged { return true }
                now = original
            }
            return false
        }

        func give(_ n: Int = 1) { kept.subtract(n, ordering: .relaxed) }
    }

    public init(attributeKeys: [String], readers: Int, budget: Budget = Budget(limit: .max)) {
        self.attributeKeys = attributeKeys
        self.readers = readers
        self.budget = budget
        results = Mutex([:])
    }

    deinit {
        let kept = results.withLock { $0.values.filter { $0.value != nil }.count }
        if kept > 0 { budget.give(kept) }
    }

    /// The result for part `part`, made by `make` unless another reader's is kept.
    /// (An object: the memo casts it back as a class, which costs no protocol conformance look-up.)
    public func shared<T: AnyObject & Sendable, E: Error>(part: Int, _ make: () throws(E) -> T) throws(E) -> T {
        try results.withLock { (results: inout [Int: Entry]) throws(E) -> T in
            var entry = results[part] ?? Entry(value: nil, asked: 0)
            entry.asked += 1
            let last = entry.asked >= readers
            if let value = entry.value as? T {
                if last {
                    results[part] = nil
                    budget.give()
                } else {
                    results[part] = entry
                }
                return value
            }
            let value: T
            do throws(E) {
                value = try make()
            } catch {
                results[part] = last ? nil : entry
                throw error
            }
            if !last, budget.take() { entry.value = value }
            results[part] = last ? nil : entry
            return value
        }
    }

    /// Results kept (made, and not yet asked for by every reader).
    public var kept: Int { results.withLock { $0.values.filter { $0.value != nil }.count } }
}

extension BatchMemo {
    /// What a pipeline's fan-out attaches for `exporters`: nil unless two or more of them read
    /// spans (a traces pipeline).
    public static func plan(for exporters: [any Exporter], signal: Signal) -> (keys: [String], readers: Int)? {
        guard signal == .traces else { return nil }
        let readers = exporters.compactMap(\.spanAttributeKeys)
        guard readers.count >= 2 else { return nil }
        return (Array(Set(readers.joined())).sorted(), readers.count)
    }
}
