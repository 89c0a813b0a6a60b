import OTLPCodec

/// A span's series as the key the `SeriesTable` is searched with, and the data point
/// attributes that key stands for.
///
/// Design: the key is the values alone, in the fixed order of the dimensions: service.name and
/// span.name length-prefixed, span.kind and status.code one byte each (those kept), then per
/// configured dimension a tag (0 absent, 2 a value) and for a value the raw `AnyValue` bytes,
/// length-prefixed (a default is written as the `AnyValue` of its string, so a span that
/// carries the default's value itself is in the same series, as upstream). Lengths are
/// varints, so the encoding is injective. A batch's keys go one after another in a
/// `KeyBuffer`: writing one costs a few `memcpy`s and no allocation, reference counting or
/// uniqueness check. The serialized `KeyValue`s of the data point (`attributes(ofKey:)`) are
/// written only when a key is new.
///
/// A class: as a struct of seven arrays it was copied for every span where the hot loop's
/// closure captured it. It owns the buffers of `standardKeys`, `dimensionKeys` and `defaults`
/// (freed in `deinit`); `kinds`, `statuses` and `unknown` are the process's static names.
/// `@unchecked Sendable`: immutable after `init`, and the buffers it points to are never written.
final class SeriesKeyLayout: @unchecked Sendable {
    enum Standard { case service, name, kind, status }

    /// The standard dimensions kept (not excluded), in their fixed order, and their keys.
    let standard: [Standard]
    let standardKeys: [UnsafeRawBufferPointer]
    /// The configured dimensions' names and defaults (serialized `AnyValue`s).
    let dimensionKeys: [UnsafeRawBufferPointer]
    let defaults: [UnsafeRawBufferPointer?]
    let kinds: [UnsafeRawBufferPointer]
    let statuses: [UnsafeRawBufferPointer]
    let unknown: UnsafeRawBufferPointer

    init(standard: [Standard], standardKeys: [UnsafeRawBufferPointer], dimensionKeys: [UnsafeRawBufferPointer],
         defaults: [UnsafeRawBufferPointer?], kinds: [UnsafeRawBufferPointer], statuses: [UnsafeRawBufferPointer],
         unknown: UnsafeRawBufferPointer) {
        self.standard = standard
        self.standardKeys = standardKeys
        self.dimensionKeys = dimensionKeys
        self.defaults = defaults
        self.kinds = kinds
        self.statuses = statuses
        self.unknown = unknown
    }

    deinit {
        for buffer in standardKeys + dimensionKeys + defaults.compactMap({ $0 }) {
            UnsafeMutableRawPointer(mutating: buffer.baseAddress)?.deallocate()
        }
    }

    /// Appends the key of a span of service `service`, name `name`, kind and status numbers
    /// `kind` / `status`, and dimension values `values` (raw `AnyValue`s in `raw`).
    @inline(__always)
    func write(_ out: inout KeyBuffer, _ raw: UnsafeRawBufferPointer, service: Range<Int>, name: Range<Int>, kind: Int, status: Int,
               values: UnsafeMutableBufferPointer<Range<Int>?>) {
        for s in standard {
            switch s {
            case .service: out.lengthPrefixed(UnsafeRawBufferPointer(rebasing: raw[service]))
            case .name: out.lengthPrefixed(UnsafeRawBufferPointer(rebasing: raw[name]))
            case .kind: out.byte(kind >= 0 && kind < kinds.count ? UInt8(kind) : 0xFF)
            case .status: out.byte(status >= 0 && status < statuses.count ? UInt8(status) : 0xFF)
            }
        }
        for i in 0..<values.count {
            if let value = values[i] {
                out.byte(2)
                out.lengthPrefixed(UnsafeRawBufferPointer(rebasing: raw[value]))
            } else if let fallback = defaults[i] {
                out.byte(2)
                out.lengthPrefixed(fallback)
            } else {
                out.byte(0)
            }
        }
    }

    /// The data point attributes (`NumberDataPoint.attributes` fields) a key written by
    /// `write` stands for.
    func attributes(ofKey key: UnsafeRawBufferPointer) -> [UInt8] {
        var w = OTLPWireWriter(capacity: key.count * 2 + 64)
        var reader = KeyReader(bytes: key)
        for (i, s) in standard.enumerated() {
            let value: UnsafeRawBufferPointer
            switch s {
            case .service, .name: value = reader.lengthPrefixed()
            case .kind:
                let k = Int(reader.byte())
                value = k < kinds.count ? kinds[k] : unknown
            case .status:
                let c = Int(reader.byte())
                value = c < statuses.count ? statuses[c] : unknown
            }
            OTLPMetricsWriter.stringAttribute(&w, key: standardKeys[i], value: value)
        }
        for i in 0..<dimensionKeys.count {
            if reader.byte() == 2 { OTLPMetricsWriter.rawAttribute(&w, key: dimensionKeys[i], anyValue: reader.lengthPrefixed()) }
        }
        return w.take()
    }

    private struct KeyReader {
        let bytes: UnsafeRawBufferPointer
        var position = 0

        mutating func byte() -> UInt8 {
            defer { position += 1 }
            return bytes[position]
        }

        mutating func lengthPrefixed() -> UnsafeRawBufferPointer {
            var length = 0, shift = 0
            while true {
                let b = byte()
                length |= Int(b & 0x7F) << shift
                if b < 0x80 { break }
                shift += 7
            }
            defer { position += length }
            return UnsafeRawBufferPointer(rebasing: bytes[position..<(position + length)])
        }
    }
}

/// Growable raw bytes for one batch's series keys: appending checks capacity and copies,
/// nothing else. The owner calls `deallocate` (it is a struct over a raw allocation so the hot
/// path touches no reference count).
struct KeyBuffer {
    private(set) var base: UnsafeMutableRawPointer
    private(set) var count = 0
    private var capacity: Int

    init(capacity: Int) {
        self.capacity = max(capacity, 64)
        base = .allocate(byteCount: self.capacity, alignment: 8)
    }

    func deallocate() { base.deallocate() }

    subscript(range: Range<Int>) -> UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base + range.lowerBound, count: range.count) }

    @inline(__always)
    mutating func byte(_ b: UInt8) {
        if count == capacity { grow(count + 1) }
        base.storeBytes(of: b, toByteOffset: count, as: UInt8.self)
        count &+= 1
    }

    @inline(__always)
    mutating func lengthPrefixed(_ bytes: UnsafeRawBufferPointer) {
        let n = bytes.count
        if count &+ n &+ 10 > capacity { grow(count + n + 10) }
        var length = UInt(n)
        while length >= 0x80 {
            base.storeBytes(of: UInt8(truncatingIfNeeded: length) | 0x80, toByteOffset: count, as: UInt8.self)
            count &+= 1
            length >>= 7
        }
        base.storeBytes(of: UInt8(length), toByteOffset: count, as: UInt8.self)
        count &+= 1
        if n > 0 { (base + count).copyMemory(from: bytes.baseAddress!, byteCount: n) }
        count &+= n
    }

    private mutating func grow(_ needed: Int) {
        var size = capacity * 2
        while size < needed { size *= 2 }
        let bigger = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 8)
        bigger.copyMemory(from: base, byteCount: count)
        base.deallocate()
        base = bigger
        capacity = size
    }
}
