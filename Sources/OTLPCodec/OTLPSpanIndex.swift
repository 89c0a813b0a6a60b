import Buffers
import Synchronization

/// One read of a traces request for readers that look at every span's fields and a few of its
/// attributes (the RED connectors): per resource, its `Resource` message, `service.name` and
/// the values of the wanted keys among its attributes; per span, its fields and the values of
/// the wanted keys among its own attributes.
///
/// Design: built in one walk (`OTLPRequestLayout.visit`, each span read with
/// `OTLPSpanFields.read(_:_:matching:into:)` while its bytes are in the cache) into flat raw
/// storage: no allocation per span, and reading it back touches no reference count. Positions
/// are kept as 32-bit offsets (a span in 64 bytes, a value in 8), so that an index is a
/// fraction of the bytes it describes: several readers of the same bytes share one
/// (`BatchMemo`), the later ones reading it from another core's cache, instead of each walking
/// the request. The index does not depend on who built it. Every range is into the bytes it
/// was built from, which the readers keep alive and unchanged while they read it.
///
/// `@unchecked Sendable`: written only in `init`, immutable after, its storage freed in `deinit`.
public final class OTLPSpanIndex: @unchecked Sendable {
    /// A span's fields (`OTLPSpanFields` without its attributes): plain values only.
    public struct Span: Sendable {
        @usableFromInline var ranges: (Slot, Slot, Slot, Slot, Slot)
        @usableFromInline var resourceIndex: UInt32
        @usableFromInline var kindNumber: UInt8
        @usableFromInline var status: UInt8
        public var startTimeUnixNano: UInt64
        public var endTimeUnixNano: UInt64

        /// Its resource entry (an index of `resources`).
        @inlinable public var resource: Int { Int(resourceIndex) }
        @inlinable public var name: Range<Int> { ranges.0.range }
        @inlinable public var traceID: Range<Int> { ranges.1.range }
        @inlinable public var spanID: Range<Int> { ranges.2.range }
        @inlinable public var parentSpanID: Range<Int> { ranges.3.range }
        @inlinable public var traceState: Range<Int> { ranges.4.range }
        /// `SpanKind` number (one past 255 or negative reads as 255: no kind has that number).
        @inlinable public var kind: Int { Int(kindNumber) }
        /// `status.code` (one past 255 or negative reads as 255).
        @inlinable public var statusCode: Int { Int(status) }

        init(resource: Int, _ f: OTLPSpanFields) {
            ranges = (Slot(f.name), Slot(f.traceID), Slot(f.spanID), Slot(f.parentSpanID), Slot(f.traceState))
            resourceIndex = UInt32(resource)
            kindNumber = f.kind < 0 ? .max : UInt8(clamping: f.kind)
            status = f.statusCode < 0 ? .max : UInt8(clamping: f.statusCode)
            startTimeUnixNano = f.startTimeUnixNano
            endTimeUnixNano = f.endTimeUnixNano
        }
    }

    /// A range of the request's bytes in 8 bytes, or none (`lower` past `upper`).
    @usableFromInline struct Slot: Sendable {
        @usableFromInline var lower: UInt32
        @usableFromInline var upper: UInt32

        static let none = Slot(lower: 1, upper: 0)

        init(lower: UInt32, upper: UInt32) {
            self.lower = lower
            self.upper = upper
        }

        init(_ range: Range<Int>) { self.init(lower: UInt32(range.lowerBound), upper: UInt32(range.upperBound)) }

        init(_ range: Range<Int>?) { self = range.map(Slot.init) ?? .none }

        @inlinable var range: Range<Int> { Int(lower)..<Int(upper) }
        @inlinable var optional: Range<Int>? { lower <= upper ? Int(lower)..<Int(upper) : nil }
    }

    public struct Resource: Sendable {
        /// The `Resource` message (nil: the entry has none).
        public var message: Range<Int>?
        /// The value of its `service.name` attribute.
        public var service: OTLPValue?
    }

    /// How many keys were looked for (`value(ofSpan:slot:)` has this many slots per span).
    public let keyCount: Int
    private var spanStore: FlatBuffer<Span>
    private var resourceStore: FlatBuffer<Resource>
    @usableFromInline var spanValues: FlatBuffer<Slot>
    @usableFromInline var resourceValues: FlatBuffer<Slot>

    /// The largest request an index can describe (offsets are 32 bits).
    public static let maxBytes = Int(UInt32.max)

    /// Reads the traces request in `bytes` (`capacity`: the spans expected), looking for
    /// `matcher`'s keys. Throws on bytes that are not a well-formed request, or more than
    /// `maxBytes` of them.
    public init(_ bytes: UnsafeRawBufferPointer, matching matcher: OTLPAttributeMatcher, capacity: Int) throws(OTLPDecodeError) {
        guard bytes.count <= Self.maxBytes else {
            throw OTLPDecodeError(.resourceExhausted, offset: nil, "a request of \(bytes.count) bytes is too large to index")
        }
        let keys = matcher.count
        keyCount = keys
        var spans = FlatBuffer<Span>(capacity: capacity)
        var resources = FlatBuffer<Resource>(capacity: 8)
        var spanSlots = FlatBuffer<Slot>(capacity: capacity * keys)
        var resourceSlots = FlatBuffer<Slot>(capacity: 8 * keys)
        // The matcher fills full-width ranges; they are narrowed as each span is stored.
        let found = UnsafeMutableBufferPointer<Range<Int>?>.allocate(capacity: keys)
        found.initialize(repeating: nil)
        defer { found.deallocate() }
        var fields = OTLPSpanFields()
        do throws(OTLPDecodeError) {
            try OTLPRequestLayout.visit(.traces, bytes, resource: { _, message in
                let attributes = OTLPAttributes.list(bytes, message, field: 1)
                resources.append(Resource(message: message, service: OTLPAttributes.find(bytes, attributes, key: Self.serviceKey)))
                guard keys > 0 else { return }
                found.update(repeating: nil)
                matcher.fill(bytes, attributes, into: found)
                for value in found { resourceSlots.append(Slot(value)) }
            }, item: { (r, payload) throws(OTLPDecodeError) in
                if keys > 0 { found.update(repeating: nil) }
                try fields.read(bytes, payload, matching: matcher, into: found)
                spans.append(Span(resource: r, fields))
                for value in found { spanSlots.append(Slot(value)) }
            })
        } catch {
            spans.deallocate()
            resources.deallocate()
            spanSlots.deallocate()
            resourceSlots.deallocate()
            throw error
        }
        spanStore = spans
        resourceStore = resources
        spanValues = spanSlots
        resourceValues = resourceSlots
    }

    /// Reads the traces request in `bytes` (see `init(_:matching:capacity:)`).
    public static func read(_ bytes: [UInt8], matching matcher: OTLPAttributeMatcher, capacity: Int) throws(OTLPDecodeError) -> OTLPSpanIndex {
        try bytes.withBytes { (raw) throws(OTLPDecodeError) in try OTLPSpanIndex(raw, matching: matcher, capacity: capacity) }
    }

    deinit {
        spanStore.deallocate()
        resourceStore.deallocate()
        spanValues.deallocate()
        resourceValues.deallocate()
    }

    /// The spans, in wire order.
    public var spans: UnsafeBufferPointer<Span> { spanStore.elements }

    /// The resource entries, in wire order.
    public var resources: UnsafeBufferPointer<Resource> { resourceStore.elements }

    /// The `AnyValue` of key `slot` (in the matcher's order) among span `i`'s own attributes;
    /// nil: not there.
    @inlinable
    public func value(ofSpan i: Int, slot: Int) -> Range<Int>? { spanValues[i &* keyCount &+ slot].optional }

    /// The same among resource `r`'s attributes.
    @inlinable
    public func value(ofResource r: Int, slot: Int) -> Range<Int>? { resourceValues[r &* keyCount &+ slot].optional }

    static let serviceKey = Array("service.name".utf8)

    /// How a reader wanting `own` keys finds them in an index built for `keys` (which include
    /// them): build with `matcher`; the reader's key i is the index's slot `slots[i]`.
    public struct Plan: Sendable {
        public let keys: [String]
        public let matcher: OTLPAttributeMatcher
        public let slots: [Int]

        public init(own: [String], keys: [String]) {
            precondition(own.allSatisfy(keys.contains), "an index read for \(keys) lacks some of \(own)")
            self.keys = keys
            matcher = OTLPAttributeMatcher(keys)
            slots = own.map { keys.firstIndex(of: $0)! }
        }
    }

    /// A reader's plans: for reading alone (its own keys) and for the shared keys it last met
    /// (a pipeline's keys do not change while it runs), made once and reused.
    public final class Plans: Sendable {
        public let alone: Plan
        private let last: Mutex<Plan?>

        public init(_ own: [String]) {
            alone = Plan(own: own, keys: own)
            last = Mutex(nil)
        }

        /// The plan for an index built for `shared` keys (nil: reading alone).
        public func plan(for shared: [String]?) -> Plan {
            guard let shared, shared != alone.keys else { return alone }
            return last.withLock { last in
                if let plan = last, plan.keys == shared { return plan }
                let plan = Plan(own: alone.keys, keys: shared)
                last = plan
                return plan
            }
        }
    }
}
