import Testing
@testable import Transport

@Suite("Gzip")
struct GzipTests {
    @Test func roundTrip() throws {
        for size in [0, 1, 1000, 300_000] {
            let input = patternBytes(size)
            let compressed = Gzip.compress(input)
            #expect(compressed.prefix(2) == [0x1F, 0x8B])
            #expect(try Gzip.decompress(compressed, limit: size) == input)
        }
    }

    @Test func compressibleDataRoundTripsThroughSlices() throws {
        let input = [UInt8](repeating: 0x41, count: 100_000)
        let compressed = Gzip.compress(input)
        #expect(compressed.count < 1000)
        #expect(try Gzip.decompress(compressed[...], limit: 100_000) == input)
    }

    @Test func concatenatedMembers() throws {
        let data = Gzip.compress(Array("hello ".utf8)) + Gzip.compress(Array("world".utf8))
        #expect(try Gzip.decompress(data, limit: 100) == Array("hello world".utf8))
    }

    @Test func limitIsExact() throws {
        let input = patternBytes(5000)
        let compressed = Gzip.compress(input)
        #expect(try Gzip.decompress(compressed, limit: 5000) == input)
        #expect(throws: GzipError.self) { try Gzip.decompress(compressed, limit: 4999) }
        do {
            _ = try Gzip.decompress(compressed, limit: 4999)
        } catch {
            #expect(error.code == .tooLarge)
        }
    }

    @Test func decompressionBombStopsAtTheLimit() {
        // 16 MiB of zeros compresses to about 16 KiB; inflating must stop at the 1 MiB limit.
        let bomb = Gzip.compress([UInt8](repeating: 0, count: 16 << 20), level: 9)
        #expect(bomb.count < 40_000)
        do {
            _ = try Gzip.decompress(bomb, limit: 1 << 20)
            Issue.record("expected tooLarge")
        } catch {
            #expect(error.code == .tooLarge)
        }
    }

    @Test func corruptAndTruncatedInput() {
        let good = Gzip.compress(patternBytes(10_000))
        for bad in [Array("not gzip at all".utf8), Array(good.prefix(good.count / 2)), [0x1F, 0x8B], good + [1, 2, 3]] {
            do {
                _ = try Gzip.decompress(bad, limit: 1 << 20)
                Issue.record("expected corrupt for \(bad.count) bytes")
            } catch {
                #expect(error.code == .corrupt)
            }
        }
    }
}
