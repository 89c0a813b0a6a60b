import Glibc
import Checksums
import SystemIO

/// Segment naming, the cursor file and recovery (see `DiskQueue` for the format).
extension DiskQueue {
    static func segmentPath(_ directory: String, _ number: UInt64) -> String {
        directory + "/" + segmentName(number)
    }

    static func segmentName(_ number: UInt64) -> String {
        let hex = String(number, radix: 16)
        return "segment-" + String(repeating: "0", count: 16 - hex.count) + hex + ".q"
    }

    /// The segment files of `directory`, sorted by number.
    static func segments(_ directory: String) throws(SystemError) -> [(UInt64, String)] {
        try Sys.list(directory).compactMap { name -> (UInt64, String)? in
            guard name.hasPrefix("segment-"), name.hasSuffix(".q"), name.count == 26 else { return nil }
            guard let n = UInt64(name.dropFirst(8).prefix(16), radix: 16) else { return nil }
            return (n, name)
        }.sorted { $0.0 < $1.0 }
    }

    static func appendLE<T: FixedWidthInteger>(_ value: T, to out: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { out.append(contentsOf: $0) }
    }

    static func readLE<T: FixedWidthInteger>(_ bytes: [UInt8], at offset: Int, as: T.Type) -> T {
        var value: T = 0
        for i in (0..<MemoryLayout<T>.size).reversed() { value = value << 8 | T(bytes[offset + i]) }
        return value
    }

    static func writeCursor(_ directory: String, segment: UInt64, offset: Int) throws(SystemError) {
        var bytes = cursorMagic
        appendLE(segment, to: &bytes)
        appendLE(UInt64(offset), to: &bytes)
        appendLE(CRC32C.checksum(bytes), to: &bytes)
        try AtomicFile.replace(directory + "/cursor", with: bytes)
    }

    /// The persisted cursor, or nil when missing or corrupt.
    static func readCursor(_ directory: String) -> (segment: UInt64, offset: Int)? {
        let path = directory + "/cursor"
        guard let fd = try? Sys.open(path, O_RDONLY) else { return nil }
        defer { Sys.close(fd) }
        guard let bytes = try? Sys.pread(fd, count: 28, at: 0, path: path), bytes.count == 28,
              Array(bytes[0..<8]) == cursorMagic,
              readLE(bytes, at: 24, as: UInt32.self) == CRC32C.checksum(Array(bytes[0..<24])) else { return nil }
        return (readLE(bytes, at: 8, as: UInt64.self), Int(readLE(bytes, at: 16, as: UInt64.self)))
    }

    /// Rebuilds the pending records from the files (see the type's doc) and picks the number
    /// of the next segment.
    static func recover(_ directory: String, pending: inout [Record], bytes: inout Int,
                        corrupt: inout Int, next: inout UInt64) throws(SystemError) {
        let all = try segments(directory)
        next = (all.last?.0 ?? 0) + 1
        let cursor = readCursor(directory) ?? (all.first?.0 ?? 0, segmentMagic.count)
        for (index, (number, name)) in all.enumerated() {
            let path = directory + "/" + name
            if number < cursor.segment {
                _ = try? Sys.unlink(path)
                continue
            }
            let isLast = index == all.count - 1
            let fd = try Sys.open(path, isLast ? O_RDWR : O_RDONLY)
            defer { Sys.close(fd) }
            let size = Int(try Sys.fstat(fd, path: path).size)
            let magic = try Sys.pread(fd, count: segmentMagic.count, at: 0, path: path)
            var offset = number == cursor.segment ? max(cursor.offset, segmentMagic.count) : segmentMagic.count
            if magic != segmentMagic { offset = size }
            while offset + 8 <= size {
                let header = try Sys.pread(fd, count: 8, at: UInt64(offset), path: path)
                let length = Int(readLE(header, at: 0, as: UInt32.self))
                guard length <= maxRecordBytes, offset + 8 + length <= size else { break }
                let payload = try Sys.pread(fd, count: length, at: UInt64(offset + 8), path: path)
                var crc = Array(header[0..<4]).withUnsafeBytes { CRC32C.update(0, $0) }
                crc = payload.withUnsafeBytes { CRC32C.update(crc, $0) }
                guard crc == readLE(header, at: 4, as: UInt32.self) else { break }
                pending.append(Record(segment: number, offset: offset, length: length))
                bytes += length
                offset += 8 + length
            }
            if offset < size {
                corrupt += size - offset
                if isLast && magic == segmentMagic {
                    try Sys.ftruncate(fd, UInt64(offset), path: path)
                    try Sys.fsync(fd, path: path)
                }
            }
        }
    }
}

