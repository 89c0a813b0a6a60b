import Testing
import Store
import Checksums

/// Test vectors from RFC 3720 (iSCSI), appendix B.4, plus the common check value.
@Suite struct CRC32CTests {
    @Test func rfc3720Vectors() {
        #expect(CRC32C.checksum([UInt8](repeating: 0, count: 32)) == 0x8A91_36AA)
        #expect(CRC32C.checksum([UInt8](repeating: 0xFF, count: 32)) == 0x62A8_AB43)
        #expect(CRC32C.checksum((0..<32).map { UInt8($0) }) == 0x46DD_794E)
        #expect(CRC32C.checksum((0..<32).reversed().map { UInt8($0) }) == 0x113F_DB5C)
        let readCommand: [UInt8] = [
            0x01, 0xC0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
            0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x18,
            0x28, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        ]
        #expect(CRC32C.checksum(readCommand) == 0xD996_3A56)
    }

    @Test func checkValue() {
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
        #expect(CRC32C.checksum([]) == 0)
    }

    /// Every split point of an odd-length input gives the same CRC when continued, which
    /// exercises the 8-byte loop and the byte tail at every alignment.
    @Test func incrementalEqualsWhole() {
        let data = (0..<203).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
        let whole = CRC32C.checksum(data)
        for cut in 0...data.count {
            let head = Array(data[..<cut]), tail = Array(data[cut...])
            let continued = tail.withUnsafeBytes { CRC32C.update(CRC32C.checksum(head), $0) }
            #expect(continued == whole, "cut at \(cut)")
        }
        // A bytewise reference implementation agrees.
        var c: UInt32 = ~0
        for b in data {
            c ^= UInt32(b)
            for _ in 0..<8 { c = c & 1 != 0 ? (c >> 1) ^ 0x82F6_3B78 : c >> 1 }
        }
        #expect(~c == whole)
    }

    /// The crc32-instruction path and the table-driven one agree on every length and alignment.
    @Test func hardwareAndSoftwareAgree() {
        var state: UInt64 = 0x1234_5678
        let data: [UInt8] = (0..<4099).map { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return UInt8(truncatingIfNeeded: state >> 56)
        }
        data.withUnsafeBytes { raw in
            for start in 0..<9 {
                for length in [0, 1, 7, 8, 9, 63, 64, 65, 1000, 4090 - start] {
                    let slice = UnsafeRawBufferPointer(rebasing: raw[start..<(start + length)])
                    #expect(CRC32C.update(0x0BAD_F00D, slice) == CRC32C.softwareUpdate(0x0BAD_F00D, slice), "\(start) \(length)")
                }
            }
        }
        print("CRC32C uses the crc32 instruction: \(CRC32C.hardware)")
    }
}
