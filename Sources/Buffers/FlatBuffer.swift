/// Growable raw storage for one batch's per-item or per-resource values, read and written by
/// the closures a request walk calls for every item (the RED connectors' entries, services and
/// attribute values): appending checks capacity and stores, reading loads, with no reference
/// counting or uniqueness check, which an array captured by such a closure costs on every
/// access. A struct over one allocation: the owner calls `deallocate` (a `defer` beside its
/// creation), and nothing it hands out outlives that.
public struct FlatBuffer<Element> {
    @usableFromInline var base: UnsafeMutablePointer<Element>
    @usableFromInline var capacity: Int
    @usableFromInline var used = 0

    /// The elements appended so far.
    public var count: Int { used }

    public init(capacity: Int) {
        self.capacity = max(capacity, 4)
        base = .allocate(capacity: self.capacity)
    }

    public func deallocate() {
        base.deinitialize(count: used)
        base.deallocate()
    }

    public subscript(index: Int) -> Element {
        @inlinable get {
            precondition(index >= 0 && index < used, "FlatBuffer index out of range")
            return base[index]
        }
    }

    /// The elements appended so far (valid until the next append or `deallocate`).
    @inlinable
    public var elements: UnsafeBufferPointer<Element> { UnsafeBufferPointer(start: base, count: used) }

    @inlinable
    public mutating func append(_ element: Element) {
        if used == capacity { grow() }
        (base + used).initialize(to: element)
        used &+= 1
    }

    /// Appends `n` copies of `element` and returns them, to fill in place (valid until the
    /// next append or `deallocate`).
    @inlinable
    public mutating func append(_ n: Int, of element: Element) -> UnsafeMutableBufferPointer<Element> {
        let start = used
        for _ in 0..<n { append(element) }
        return UnsafeMutableBufferPointer(start: base + start, count: n)
    }

    @usableFromInline
    mutating func grow() {
        let bigger = UnsafeMutablePointer<Element>.allocate(capacity: capacity * 2)
        bigger.moveInitialize(from: base, count: used)
        base.deallocate()
        base = bigger
        capacity *= 2
    }
}
