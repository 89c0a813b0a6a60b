import FuzzSupport
import OTLPCodec
#if canImport(Glibc)
import Glibc
#endif
@testable import Store

/// Opening index files the way the store does, and comparing a sealed index with the memory
/// index it was written from.
public enum IndexCheck {
    /// `bytes` as an index file of segment `sequence`, opened with `SealedIndex` (mapped and
    /// checked); nil with the reason when it is refused.
    static func open(_ bytes: [UInt8], sequence: UInt64) -> Result<SealedIndex, BlockProblem> {
        let path = ScratchFile.write(bytes)
        do {
            let file = try SegmentFile(path: path, flags: O_RDONLY)
            return .success(try SealedIndex(file: file, expectedSequence: sequence))
        } catch let error as BlockProblem {
            return .failure(error)
        } catch {
            return .failure(BlockProblem("\(error)"))
        }
    }

    /// Every lookup of a sealed index, on ids it holds and ids it does not: none may crash or
    /// read outside the mapping (the index was checked when opened).
    static func exercise(_ index: SealedIndex, ids: [OTLPTraceID]) {
        for id in ids + [OTLPTraceID(high: 0, low: 0), OTLPTraceID(high: .max, low: .max)] {
            _ = index.mightContain(id)
            _ = index.blocks(of: id)
            _ = index.part(of: id)
        }
        let services = index.services()
        for service in services.prefix(4) {
            for operation in index.operations(service: service).prefix(4) {
                _ = index.candidates(service: service, operation: operation)
            }
            _ = index.candidates(service: service, operation: nil)
        }
        _ = index.candidates(service: nil, operation: nil)
        _ = index.candidates(service: "no such service", operation: nil)
    }

    /// The trace ids in the id section of an index file that parses.
    static func ids(_ index: SealedIndex) -> [OTLPTraceID] {
        index.candidates(service: nil, operation: nil).map(\.id)
    }

    /// The sealed index answers every query as the memory index it was written from.
    static func compare(_ memory: MemoryIndex, _ sealed: SealedIndex) {
        require(sealed.blockCount == memory.blocks.count && sealed.traceCount == memory.traces.count,
                "sealed index: \(sealed.blockCount) blocks, \(sealed.traceCount) traces; memory: \(memory.blocks.count), \(memory.traces.count)")
        require(Set(sealed.services()) == Set(memory.services()), "services differ")
        for service in memory.services() {
            let operations = memory.operations(service: service)
            require(Set(sealed.operations(service: service)) == Set(operations), "operations of \(service) differ")
            for operation in [nil] + operations.prefix(3).map(Optional.some) {
                let a = sealed.candidates(service: service, operation: operation).map { "\($0.id)/\($0.start)/\($0.end)" }
                let b = memory.candidates(service: service, operation: operation).map { "\($0.id)/\($0.start)/\($0.end)" }
                require(Set(a) == Set(b), "candidates of \(service)/\(operation ?? "*") differ")
            }
        }
        for (id, record) in memory.traces {
            require(sealed.mightContain(id), "the bloom filter misses \(id)")
            require(sealed.blocks(of: id) == memory.blocks(of: id), "blocks of \(id) differ")
            require(sealed.part(of: id) == memory.part(record), "the summary of \(id) differs")
        }
    }
}
