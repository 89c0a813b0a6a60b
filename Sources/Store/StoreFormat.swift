import Checksums
/// # The on-disk format of the trace store
///
/// A store is one directory of segment files, each with an index file once sealed:
///
///     seg-0000000000000001.seg   data: a file header, then blocks, append-only
///     seg-0000000000000001.idx   index, written once when the segment is sealed
///     seg-0000000000000002.seg   the active segment (no index yet)
///
/// The 16 lowercase hex digits are the segment's sequence number, starting at 1 and growing by
/// one per new segment. All integers are little-endian unless said otherwise. An empty `LOCK`
/// file carries an exclusive `flock` while a store has the directory open (a second store on
/// the same directory fails to open instead of corrupting it).
///
/// ## Segment file header (32 bytes)
///
///     0  "SSEG"           magic
///     4  u16 version      1
///     6  u16 flags        0
///     8  u64 sequence     the number in the file name
///     16 u64 created      unix ns when the segment was created
///     24 u32 crc32c       of bytes 0..<24
///     28 u32 reserved     0
///
/// ## Block (44-byte header, then the payload)
///
///     0  "SBLK"           magic
///     4  u8  version      1
///     5  u8  kind         1 spans (ExportTraceServiceRequest), 2 logs (ExportLogsServiceRequest)
///     6  u16 flags        bit 0: payload is zstd-compressed (always set in version 1)
///     8  u32 payload length    stored bytes after the header
///     12 u32 uncompressed length
///     16 u32 item count   spans / log records in the payload
///     20 u32 reserved     0
///     24 u64 min time     unix ns: earliest span start / log record time (0 when none)
///     32 u64 max time     unix ns: latest span end / log record time
///     40 u32 crc32c       CRC32C (Castagnoli) of header bytes 0..<40 followed by the payload
///
/// The payload is one zstd frame whose content is a serialized OTLP export request: a block is
/// decodable on its own. One `append` writes one block (a payload above
/// `StoreConfig.blockMaxBytes` is first split into several requests, one block each), all of
/// an append's blocks with one write; the items of hot traces (already in two blocks of the
/// active segment, or lately hot) go to a block of their own, laid out by trace, each trace's
/// items one run of resource entries (`BlockLayout`), so that the index's slice of that block
/// is exactly the trace.
///
/// ## Index file (written at sealing by `AtomicFile`: temp file, fsync, rename, fsync of the directory)
///
/// A 64-byte header, a directory of sections, the sections (8-byte aligned), a trailer:
///
///     header   "SIDX", u16 version 1, u16 flags 0, u64 sequence, u64 data length (bytes of the
///              segment file the index covers), u64 created, u64 sealed (unix ns),
///              u64 min time, u64 max time, u32 section count, u32 reserved
///     directory  per section: u32 id, u32 reserved, u64 offset, u64 length
///     1 blocks   48 bytes each, in file order: u64 offset, u32 stored length (header +
///                payload), u8 kind, 3 reserved, u32 item count, u32 uncompressed length,
///                u64 min time, u64 max time, u32 crc32c (the block's), u32 reserved
///     2 strings  u32 count, count + 1 u32 offsets into the bytes that follow, the UTF-8 bytes
///                (service names and span names, referred to by index)
///     3 pairs    40 bytes per (service, operation): u32 service, u32 operation, u64 min
///                time, u64 max time, u64 span count, u64 error count
///     4 trace ids    16 bytes each, sorted ascending (big-endian byte order)
///     5 traces   64 bytes per trace id, same order: u32 first ref, u32 ref count, u32 first
///                pair, u32 pair count, u32 root service, u32 root operation (0xFFFFFFFF:
///                none), u64 start, u64 end (min span start, max span end), u64 root start,
///                u32 span count, u32 error count, u32 log record count, u32 flags (bit 0: the
///                root is a span without parent)
///     6 refs     u32 block numbers (indexes into section 1), per trace, ascending
///     7 trace pairs  u32 pair numbers (indexes into section 3), per trace
///     8 bloom    u32 hash count k, u32 reserved, u64 bit count m, then m/64 u64 words;
///                bit positions (h1 + i * h2) mod m, i < k, from the trace id (see BloomFilter)
///     9 ref slices   per ref (same order as section 6): u32 offset, u32 length of the
///                trace's run of resource entries in the block's uncompressed payload (from
///                its first to its last entry holding the trace). Optional: an index
///                without it (older files) means "the whole payload".
///     trailer  u32 crc32c of every byte before the trailer, "SEND"
///
/// ## Invariants
/// - Files are only appended to, except that recovery may truncate the torn tail of an
///   unsealed segment. A sealed segment (one with an index file) is never written again; an
///   index file is never modified, only deleted with its segment.
/// - Readers see a block only after it is completely written: the committed length and the
///   in-memory index of the active segment are published after the write returns.
/// - Every block referenced by an index lies within the index's data length, and every block
///   read is checked against its CRC before use.
/// - Spans and log records without a valid trace id are stored but not indexed.
///
/// ## Recovery (when the store opens)
/// - `*.idx.tmp*` files (an interrupted sealing) are deleted; so is an index whose segment is gone.
/// - A segment with an index is opened without scanning: the index is checked (magic,
///   version, sequence, CRC, data length within the file). A corrupt index is reported and the
///   segment is served from an index rebuilt in memory by scanning its blocks; nothing on disk
///   is rewritten. A segment whose file header is corrupt is reported and skipped.
/// - A segment without index is scanned block by block (magic, lengths, CRC, zstd, OTLP
///   framing). A bad block followed by a good one (found by searching for the next magic whose
///   block checks out) is reported and skipped in place. A bad block with nothing good after it
///   is a torn tail: the file is truncated to the end of the last good block, and the cut
///   (file, offset, bytes) is reported. The newest such segment becomes the active segment
///   again; older ones are sealed in the background.
/// - A corrupt block found while reading a sealed segment is reported once and skipped; the
///   rest of the segment stays readable.
enum StoreFormat {
    static let segmentMagic: [UInt8] = Array("SSEG".utf8)
    static let blockMagic: [UInt8] = Array("SBLK".utf8)
    static let indexMagic: [UInt8] = Array("SIDX".utf8)
    static let indexEndMagic: [UInt8] = Array("SEND".utf8)
    static let version: UInt16 = 1
    static let blockVersion: UInt8 = 1
    static let segmentHeaderSize = 32
    static let blockHeaderSize = 44
    static let indexHeaderSize = 64
    static let indexTrailerSize = 8
    static let flagZstd: UInt16 = 1
    /// No block may claim more than this uncompressed (a guard against corrupt headers).
    static let maxUncompressedBlock = 256 << 20
    /// 0xFFFFFFFF: no string.
    static let noString = UInt32.max

    static func segmentName(_ sequence: UInt64) -> String { "seg-\(hex16(sequence)).seg" }
    static func indexName(_ sequence: UInt64) -> String { "seg-\(hex16(sequence)).idx" }

    /// The sequence of `seg-<16 hex>.seg` / `.idx` / `.idx.tmp...` names, with the suffix.
    static func parse(_ name: String) -> (sequence: UInt64, suffix: String)? {
        guard name.hasPrefix("seg-"), name.utf8.count > 20 else { return nil }
        let digits = name.dropFirst(4).prefix(16)
        guard digits.utf8.allSatisfy({ (48...57).contains($0) || (97...102).contains($0) }),
              let sequence = UInt64(digits, radix: 16) else { return nil }
        return (sequence, String(name.dropFirst(20)))
    }

    /// `directory/name`, without doubling a trailing slash.
    static func join(_ directory: String, _ name: String) -> String {
        directory.hasSuffix("/") ? directory + name : directory + "/" + name
    }

    static func hex16(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: max(0, 16 - digits.count)) + digits
    }
}
