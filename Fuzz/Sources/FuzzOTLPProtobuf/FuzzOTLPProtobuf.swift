import FuzzSupport
@testable import OTLPCodec

/// OTLP protobuf from a client: the receivers' validator (`OTLPValidator` / `WireValidator`), and
/// everything that later reads a request the validator let through: the batch splitter, the
/// layout the samplers rewrite with, the store's scanner and search, the trace assembler, the
/// log record reader, the debug exporter (protobuf-c unpacking through `ArenaPool`) and the
/// OTLP/JSON encoder.
///
/// Input: one option byte (bit 0: logs instead of traces; bits 1-3: the split size - 1; bit 4:
/// metrics, whatever bit 0 says), then the request. Oracles, for a request the validator
/// accepts: every reader accepts it too and counts the same items; split pieces and rewritten
/// requests validate and hold the items they should (split metrics keep their metrics in
/// order); JSON written from it reads back to a request with the same counts.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOTLPProtobuf(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    var input = FuzzInput(data, size)
    let options = input.byte()
    let signal: OTLPSignal = options & 0x10 != 0 ? .metrics : (options & 1 == 0 ? .traces : .logs)
    let maxItems = Int((options >> 1) & 7) + 1
    let request = input.rest()

    guard let counts = try? OTLPValidator.counts(signal, protobuf: request) else {
        // Unvalidated bytes still must not crash the readers that skip validation.
        _ = try? OTLPSplitter.split(signal, protobuf: request, maxItems: maxItems)
        _ = OTLPScanner.resourceCount(request)
        request.withUnsafeBytes { raw in   // and the RED connectors' span read, on any bytes
            let values = UnsafeMutableBufferPointer<Range<Int>?>.allocate(capacity: matcher.count)
            defer { values.deallocate() }
            values.initialize(repeating: nil)
            var span = OTLPSpanFields()
            try? span.read(raw, 0..<raw.count, matching: matcher, into: values)
        }
        return 0
    }
    checkSplit(signal, request, counts, maxItems: maxItems)
    if signal != .metrics {   // the samplers' layout, the scanners and the assembler take no metrics
        checkLayout(signal, request, counts)
        checkScanners(signal, request, counts)
    }
    checkFormatters(signal, request, counts)
    return 0
}

private func validated(_ signal: OTLPSignal, _ bytes: [UInt8], _ what: String) -> OTLPCounts {
    do {
        return try OTLPValidator.counts(signal, protobuf: bytes)
    } catch {
        require(false, "\(what) does not validate: \(error) (\(describe(bytes)))")
        return OTLPCounts()
    }
}

private func checkSplit(_ signal: OTLPSignal, _ request: [UInt8], _ counts: OTLPCounts, maxItems: Int) {
    let pieces: [(bytes: [UInt8], count: Int)]
    do {
        pieces = try OTLPSplitter.split(signal, protobuf: request, maxItems: maxItems)
    } catch {
        return require(false, "the splitter rejects a valid request: \(error)")
    }
    require(pieces.reduce(0) { $0 + $1.count } == counts.items, "split pieces hold \(pieces.map(\.count)), not \(counts.items) items")
    for piece in pieces {
        // A metric heavier than the limit goes alone in its piece.
        require(piece.count <= maxItems || pieces.count == 1 || signal == .metrics, "a piece of \(piece.count) items (max \(maxItems))")
        require(validated(signal, piece.bytes, "a split piece").items == piece.count, "a piece's item count")
    }
    if signal == .metrics, pieces.count > 1 {
        // Whole metrics, in order: the normal debug lines (one per metric) of the pieces
        // together are the request's.
        let formatter = DebugFormatter(verbosity: .normal)
        let whole = (try? formatter.format(signal, protobuf: request))?.split(separator: "\n").dropFirst()
        let parts = (try? formatter.format(signal, protobuf: pieces.flatMap(\.bytes)))?.split(separator: "\n").dropFirst()
        require(whole != nil && whole.map(Array.init) == parts.map(Array.init), "split metrics differ from the request's")
    }
}

private func checkLayout(_ signal: OTLPSignal, _ request: [UInt8], _ counts: OTLPCounts) {
    request.withUnsafeBytes { raw in
        let layout: OTLPRequestLayout
        do {
            layout = try OTLPRequestLayout(signal, raw)
        } catch {
            return require(false, "the request layout rejects a valid request: \(error)")
        }
        require(layout.items.count == counts.items, "the layout finds \(layout.items.count) of \(counts.items) items")
        // Every other item, as a sampler keeps them; and all items, each one replaced by itself.
        let kept = Array(stride(from: 0, to: layout.items.count, by: 2))
        let written = layout.write(kept, from: raw)
        require(validated(signal, written, "a sampled request").items == kept.count, "a sampled request's item count")
        let copies = layout.write(layout.items.indices, from: raw) { index in
            Array(UnsafeRawBufferPointer(rebasing: raw[layout.items[index].payload]))
        }
        require(validated(signal, copies, "a rewritten request").items == counts.items, "a rewritten request's item count")
        if signal == .traces { checkMatchingRead(raw, layout) }
        // One request per item, as the tail sampler groups them.
        let members = Array(layout.items.indices)
        let groups = layout.writeGroups(members, bounds: members.map { $0..<($0 + 1) }, from: raw, gap: 3)
        for piece in groups.pieces {
            require(validated(signal, Array(groups.bytes[piece]), "a grouped request").items == 1, "a group of one item")
        }
    }
}

/// Keys of the RED connectors' defaults and some short ones the fuzzer finds easily.
private let matcherKeys = ["peer.service", "db.name", "db.system", "client.address", "k", "", "ab", "abcdefgh", "abcdefghi", "k"]
private let matcher = OTLPAttributeMatcher(matcherKeys)

/// The RED connectors' span read (`read(_:_:matching:into:)`) on each span of a valid request:
/// it reads it, as the full read does, and finds what a search of the full read's attribute
/// list finds.
private func checkMatchingRead(_ raw: UnsafeRawBufferPointer, _ layout: OTLPRequestLayout) {
    let values = UnsafeMutableBufferPointer<Range<Int>?>.allocate(capacity: matcher.count)
    defer { values.deallocate() }
    for item in layout.items {
        values.update(repeating: nil)
        var fast = OTLPSpanFields()
        let full: OTLPSpanFields
        do {
            full = try OTLPSpanFields(raw, item.payload)
            try fast.read(raw, item.payload, matching: matcher, into: values)
        } catch {
            return require(false, "a span reader rejects a span of a valid request: \(error)")
        }
        require(fast.traceID == full.traceID && fast.spanID == full.spanID && fast.parentSpanID == full.parentSpanID
                    && fast.traceState == full.traceState && fast.name == full.name && fast.kind == full.kind
                    && fast.statusCode == full.statusCode && fast.startTimeUnixNano == full.startTimeUnixNano
                    && fast.endTimeUnixNano == full.endTimeUnixNano, "the matching read reads a span differently")
        for (slot, key) in matcherKeys.enumerated() {
            var expected: Range<Int>?
            for kv in full.attributes {
                let (k, v) = OTLPAttributes.keyAndValue(raw, kv)
                if OTLPAttributes.equal(raw, k, Array(key.utf8)) { expected = v; break }
            }
            require(values[slot] == expected, "the matcher finds \(String(describing: values[slot])) for \(key), not \(String(describing: expected))")
        }
    }
}

private func checkScanners(_ signal: OTLPSignal, _ request: [UInt8], _ counts: OTLPCounts) {
    switch signal {
    case .traces:
        let scan: OTLPSpanScan
        do {
            scan = try OTLPScanner.spans(request)
        } catch {
            return require(false, "the span scanner rejects a valid request: \(error)")
        }
        require(scan.spans.count == counts.items && scan.services.count == counts.resources,
                "the span scanner finds \(scan.spans.count) spans in \(scan.services.count) resources, not \(counts)")
        for query in [OTLPSpanQuery(), OTLPSpanQuery(service: scan.services.first, operation: scan.spans.first?.name,
                                                      tags: ["error": "true", "http.status_code": "200", "k": "0.5"])] {
            do {
                _ = try query.matchingTraces(request)
            } catch {
                require(false, "search rejects a valid request: \(error)")
            }
        }
        let ids = Array(Set(scan.spans.compactMap(\.traceID))).sorted().prefix(3)
        for id in ids { assemble(signal, request, id, expected: scan.spans.filter { $0.traceID == id }.map(\.spanID)) }
    case .logs:
        let scan: OTLPLogScan
        do {
            scan = try OTLPScanner.logs(request)
        } catch {
            return require(false, "the log scanner rejects a valid request: \(error)")
        }
        require(scan.records.count == counts.items && scan.services.count == counts.resources,
                "the log scanner finds \(scan.records.count) records in \(scan.services.count) resources, not \(counts)")
        let records: [OTLPLogRecord]
        do {
            records = try OTLPLogRecords.read(request)
        } catch {
            return require(false, "the log record reader rejects a valid request: \(error)")
        }
        require(records.count == counts.items, "the log record reader finds \(records.count) of \(counts.items)")
        var visited = 0
        do {
            try request.withUnsafeBytes { raw in try OTLPLogRecords.visit(raw) { _ in visited += 1 } }
        } catch {
            require(false, "the log record visitor rejects a valid request: \(error)")
        }
        require(visited == counts.items, "the log record visitor sees \(visited) of \(counts.items)")
        let ids = Array(Set(scan.records.compactMap(\.traceID))).sorted().prefix(3)
        for id in ids { assemble(signal, request, id, expected: nil) }
    case .metrics:
        break
    }
}

/// The trace assembler over the request given twice: the second copy adds only duplicates.
private func assemble(_ signal: OTLPSignal, _ request: [UInt8], _ id: OTLPTraceID, expected spanIDs: [UInt64]?) {
    var assembler = OTLPTraceAssembler(signal, traceID: id)
    do {
        try assembler.add(request)
        let once = assembler.itemCount
        try assembler.add(request)
        if let spanIDs {
            // Spans without an id (0) are never duplicates; the others are kept once per id.
            let withID = spanIDs.filter { $0 != 0 }
            require(once == Set(withID).count + (spanIDs.count - withID.count),
                    "the assembler keeps \(once) of spans \(spanIDs)")
            require(assembler.itemCount == once + (spanIDs.count - withID.count), "the second copy added spans with ids")
        } else {
            require(assembler.itemCount == once, "the second copy of the same log records was kept")
        }
    } catch {
        return require(false, "the trace assembler rejects a valid request: \(error)")
    }
    let assembled = assembler.serialized()
    require(validated(signal, assembled, "an assembled trace").items == assembler.itemCount, "an assembled trace's item count")
}

private func checkFormatters(_ signal: OTLPSignal, _ request: [UInt8], _ counts: OTLPCounts) {
    do {
        let text = try DebugFormatter(verbosity: .detailed).format(signal, protobuf: request)
        require(!text.isEmpty, "empty debug output")
    } catch {
        require(false, "protobuf-c rejects a request the validator accepts: \(error)")
    }
    let json: [UInt8]
    do {
        json = try OTLPJSON.encode(signal, protobuf: request)
    } catch {
        return require(false, "the JSON encoder rejects a valid request: \(error)")
    }
    let back: [UInt8]
    do {
        back = try OTLPJSON.decode(signal, json: json)
    } catch {
        // Protobuf takes ids of any length (as protobuf-c does); OTLP/JSON only 16 and 8 bytes.
        let badID = error.code == .invalidOTLPJSON && (error.path.hasSuffix("Id") || error.path.hasSuffix("ID"))
        return require(badID, "the JSON decoder rejects what the encoder wrote: \(error)\n\(String(decoding: json.prefix(2000), as: UTF8.self))")
    }
    let again = validated(signal, back, "JSON read back")
    require(again == counts, "JSON read back counts \(again), the request \(counts)")
}
