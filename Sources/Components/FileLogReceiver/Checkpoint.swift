import CollectorCore
/// The checkpoint file: committed (acknowledged) offsets per file, so a restart resumes there.
///
/// Format (version 1), written atomically (temp + fsync + rename):
/// `{"version":1,"files":[{"fingerprint":"<hex of first bytes>","path":"...","dev":N,"inode":N,"offset":N}]}`.
/// Only acknowledged offsets are ever written, so after a crash the lines that can repeat are
/// those of batches in flight at that moment, and none after a clean shutdown.
struct Checkpoint: Equatable {
    struct Entry: Equatable {
        var fingerprint: [UInt8]
        var path: String
        var device: UInt64
        var inode: UInt64
        var offset: Int64
    }

    static let version = 1
    var entries: [Entry] = []

    func encoded() -> [UInt8] {
        var out = "{\"version\":\(Self.version),\"files\":["
        for (i, e) in entries.enumerated() {
            if i > 0 { out += "," }
            out += "\n{\"fingerprint\":\"\(Self.hex(e.fingerprint))\",\"path\":\(JSONText.quote(e.path)),"
            out += "\"dev\":\(e.device),\"inode\":\(e.inode),\"offset\":\(e.offset)}"
        }
        out += "]}\n"
        return Array(out.utf8)
    }

    /// Parses a checkpoint; nil for a file that is not one (or of an unknown version).
    static func decode(_ bytes: [UInt8]) -> Checkpoint? {
        guard let json = MiniJSON.parse(bytes), json["version"]?.int64 == Int64(version),
              let files = json["files"]?.array else { return nil }
        var c = Checkpoint()
        for f in files {
            guard let fp = f["fingerprint"]?.string.flatMap(unhex), let path = f["path"]?.string,
                  let dev = f["dev"]?.uint64, let ino = f["inode"]?.uint64, let off = f["offset"]?.int64, off >= 0 else { continue }
            c.entries.append(Entry(fingerprint: fp, path: path, device: dev, inode: ino, offset: off))
        }
        return c
    }

    static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count * 2)
        for b in bytes { out.append(digits[Int(b >> 4)]); out.append(digits[Int(b & 15)]) }
        return String(decoding: out, as: UTF8.self)
    }

    static func unhex(_ text: String) -> [UInt8]? {
        let b = Array(text.utf8)
        guard b.count % 2 == 0 else { return nil }
        func v(_ c: UInt8) -> UInt8? {
            switch c {
            case 0x30...0x39: c - 0x30
            case 0x61...0x66: c - 0x61 + 10
            case 0x41...0x46: c - 0x41 + 10
            default: nil
            }
        }
        var out: [UInt8] = []
        var i = 0
        while i < b.count {
            guard let h = v(b[i]), let l = v(b[i + 1]) else { return nil }
            out.append(h << 4 | l)
            i += 2
        }
        return out
    }
}
