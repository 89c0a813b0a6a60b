internal import CShims

/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of iSCSI (RFC 3720),
/// ext4 and most storage formats. On x86-64 CPUs with SSE4.2 the crc32 instruction computes it
/// (8 bytes per instruction, in CShims); elsewhere it is computed in software with the
/// slicing-by-8 method: eight 256-entry tables let the loop fold 8 input bytes per step with 8
/// table lookups.
///
/// Table `k` holds the CRC of byte `i` followed by `k` zero bytes, so one 8-byte step is the XOR
/// of the 8 lookups. Thread-safe (the tables are immutable, built once).
public enum CRC32C {
    /// 8 x 256 entries, table `k` at `k * 256`.
    private static let tables: [UInt32] = {
        var t = [UInt32](repeating: 0, count: 8 * 256)
        for i in 0..<256 {
            var crc = UInt32(i)
            for _ in 0..<8 { crc = crc & 1 != 0 ? (crc >> 1) ^ 0x82F6_3B78 : crc >> 1 }
            t[i] = crc
        }
        for k in 1..<8 {
            for i in 0..<256 {
                let previous = t[(k - 1) * 256 + i]
                t[k * 256 + i] = (previous >> 8) ^ t[Int(previous & 0xFF)]
            }
        }
        return t
    }()

    /// The CRC-32C of `bytes`.
    public static func checksum(_ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBytes { update(0, $0) }
    }

    /// The CRC-32C of `bytes`.
    public static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        update(0, bytes)
    }

    /// Continues `crc` (the CRC-32C of earlier bytes, 0 for none) over `bytes`:
    /// `update(checksum(a), b) == checksum(a + b)`.
    public static func update(_ crc: UInt32, _ bytes: UnsafeRawBufferPointer) -> UInt32 {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return crc }
        if hardware { return cshims_crc32c_hw(crc, base, bytes.count) }
        return softwareUpdate(crc, bytes)
    }

    /// Whether the crc32 instruction is used.
    public static let hardware = cshims_crc32c_hw_available() != 0

    /// The table-driven computation (always available; tests compare both).
    public static func softwareUpdate(_ crc: UInt32, _ bytes: UnsafeRawBufferPointer) -> UInt32 {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return crc }
        return tables.withUnsafeBufferPointer { t in
            var c = ~crc
            var p = base
            var n = bytes.count
            while n >= 8 {
                let lo = c ^ UInt32(littleEndian: p.loadUnaligned(as: UInt32.self))
                let hi = UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 4, as: UInt32.self))
                c = t[7 * 256 + Int(lo & 0xFF)] ^ t[6 * 256 + Int((lo >> 8) & 0xFF)]
                    ^ t[5 * 256 + Int((lo >> 16) & 0xFF)] ^ t[4 * 256 + Int(lo >> 24)]
                    ^ t[3 * 256 + Int(hi & 0xFF)] ^ t[2 * 256 + Int((hi >> 8) & 0xFF)]
                    ^ t[1 * 256 + Int((hi >> 16) & 0xFF)] ^ t[Int(hi >> 24)]
                p += 8
                n -= 8
            }
            while n > 0 {
                c = (c >> 8) ^ t[Int((c ^ UInt32(p.load(as: UInt8.self))) & 0xFF)]
                p += 1
                n -= 1
            }
            return ~c
        }
    }
}
