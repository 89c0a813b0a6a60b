/// One segment as the catalog and queries see it: its open file and its index.
///
/// Immutable: sealing replaces the catalog's `Segment` (memory index) by a new one (mapped
/// index file) for the same file, so a query holding the old one keeps a consistent view.
final class Segment: Sendable {
    let sequence: UInt64
    let file: SegmentFile
    let index: any SegmentIndex
    /// Created time from the segment header (unix ns).
    let created: UInt64
    /// Sealed on disk (it has an index file, valid or not): never written again, and
    /// eligible for retention.
    let sealed: Bool
    /// When it was sealed (unix ns): from the index header, or the file's modification time
    /// when the index is unusable. 0 for unsealed segments.
    let sealedAt: UInt64
    /// Size of the index file, 0 when none.
    let indexBytes: UInt64

    init(sequence: UInt64, file: SegmentFile, index: any SegmentIndex, created: UInt64,
         sealed: Bool, sealedAt: UInt64 = 0, indexBytes: UInt64 = 0) {
        self.sequence = sequence
        self.file = file
        self.index = index
        self.created = created
        self.sealed = sealed
        self.sealedAt = sealedAt
        self.indexBytes = indexBytes
    }

    var path: String { file.path }

    /// Bytes on disk: the committed data plus the index file.
    var bytes: UInt64 { index.dataLength + indexBytes }
}
