import CollectorCore
import Glibc
import SystemIO

/// Finding files: rename rotation, truncation (copytruncate), checkpoint restore, new files.
extension Tailer {
    func discover(now: UInt64) {
        emptyCandidates = false
        // Truncations first, the directory listing after: copytruncate copies before it
        // truncates, so the copy of every truncation seen here is among the paths listed below.
        // (Listing first would miss a copy made between the listing and this check: the
        // truncated file's lines would then be read again from the copy's start.)
        var unadopted = detectTruncations(now: now)
        var byInode: [Pair: Int] = [:]
        for (id, f) in files where f.isOpen { byInode[Pair(f.device, f.inode)] = id }

        var seen = Set<Int>()
        var candidates: [(String, FileStatus)] = []
        for path in listPaths() {
            let info: FileStatus
            do { info = try Sys.stat(path) } catch { continue }   // vanished meanwhile
            guard info.isRegular else {
                reportOnce(path, "cannot tail \(path): not a regular file")
                continue
            }
            if let id = byInode[Pair(info.device, info.inode)] {
                if !seen.contains(id), files[id]!.path != path {
                    logger.debug("\(files[id]!.path) rotated to \(path)")
                    metrics.rotations.increment()
                    files[id]!.path = path
                }
                seen.insert(id)
                files[id]!.unseenSince = nil
            } else {
                candidates.append((path, info))
            }
        }
        for id in files.keys where files[id]!.isOpen && !seen.contains(id) && files[id]!.unseenSince == nil {
            files[id]!.unseenSince = now
        }

        for (path, _) in candidates {
            openCandidate(path, ghosts: &unadopted, now: now)
        }
        // Ghosts whose copy is not watched: finish what they hold; they stay until acknowledged.
        for var ghost in unadopted {
            var entries: [LogEntry] = []
            flushHeld(&ghost, into: &entries)
            files[ghost.id] = ghost
            emit(entries, fileID: ghost.id)
        }
    }

    static func directory(_ path: String) -> Substring {
        path.lastIndex(of: "/").map { path[..<$0] } ?? ""
    }

    struct Pair: Hashable {
        var device: UInt64, inode: UInt64
        init(_ d: UInt64, _ i: UInt64) { device = d; inode = i }
    }

    /// Open files whose content shrank or changed under them start over at 0; their old
    /// identity is returned as ghosts (without descriptor) for the copy to adopt.
    private func detectTruncations(now: UInt64) -> [TailedFile] {
        var ghosts: [TailedFile] = []
        for id in files.keys.sorted() where files[id]!.isOpen {
            let f = files[id]!
            let info: FileStatus
            let head: [UInt8]
            do {
                info = try Sys.fstat(f.fd, path: f.path)
                head = try Sys.pread(f.fd, count: min(settings.fingerprintSize, Int(max(info.size, 0))), at: 0, path: f.path)
            } catch {
                reportOnce("read:\(f.path)", "cannot read \(f.path): \(error)")
                continue
            }
            if info.size < f.readOffset || !head.starts(with: f.fingerprint) {
                metrics.truncations.increment()
                logger.info("\(f.path) was truncated; reading it again from the start")
                var ghost = f
                ghost.fd = -1
                ghosts.append(ghost)
                files[id] = nil
                let fresh = makeFile(fd: f.fd, path: f.path, info: info, fingerprint: head, offset: 0, now: now)
                files[fresh.id] = fresh
            } else if head.count > f.fingerprint.count {
                files[id]!.fingerprint = head
            }
        }
        return ghosts
    }

    private func openCandidate(_ path: String, ghosts: inout [TailedFile], now: UInt64) {
        let fd: Int32
        let info: FileStatus
        let head: [UInt8]
        do {
            fd = try Sys.open(path, O_RDONLY | O_NONBLOCK)
        } catch {
            reportOnce(path, "cannot tail \(path): \(error)")
            return
        }
        do {
            info = try Sys.fstat(fd, path: path)
            head = try Sys.pread(fd, count: min(settings.fingerprintSize, Int(max(info.size, 0))), at: 0, path: path)
        } catch {
            Sys.close(fd)
            reportOnce(path, "cannot tail \(path): \(error)")
            return
        }
        reported.remove(path)
        if head.isEmpty && !(firstPoll && settings.startAt == .end && !hadCheckpoint) {
            // Nothing identifies an empty file yet (it may be a copy being written): wait for
            // content. It is then read from its start, as any file found after the first poll.
            Sys.close(fd)
            emptyCandidates = true
            return
        }
        if !head.isEmpty, let g = ghosts.firstIndex(where: { !$0.fingerprint.isEmpty && head.starts(with: $0.fingerprint) && info.size >= $0.readOffset }) {
            var ghost = ghosts.remove(at: g)
            logger.info("\(path) is the copy of truncated \(ghost.path); continuing it at offset \(ghost.readOffset)")
            ghost.fd = fd
            ghost.path = path
            ghost.device = info.device
            ghost.inode = info.inode
            ghost.fingerprint = head
            ghost.unseenSince = nil
            files[ghost.id] = ghost
            return
        }
        if !restored.isEmpty, let offset = restoredOffset(path: path, info: info, head: head) {
            let f = makeFile(fd: fd, path: path, info: info, fingerprint: head, offset: offset, now: now)
            files[f.id] = f
            return
        }
        let directory = Self.directory(path)
        if !head.isEmpty, files.values.contains(where: { $0.isOpen && !$0.fingerprint.isEmpty && Self.directory($0.path) == directory
                                                         && (head.starts(with: $0.fingerprint) || $0.fingerprint.starts(with: head)) }) {
            // A copy of a watched file beside it (copytruncate in progress): its data is read from
            // the original. Only the same directory counts, so that files of different containers
            // that happen to start alike are never taken for copies of each other.
            Sys.close(fd)
            return
        }
        let fromEnd = firstPoll && !hadCheckpoint && settings.startAt == .end
        let f = makeFile(fd: fd, path: path, info: info, fingerprint: head, offset: fromEnd ? info.size : 0, now: now)
        files[f.id] = f
        logger.debug("watching \(path) from offset \(f.readOffset)")
    }

    /// The checkpointed offset of this file, consuming the entry: same inode and matching
    /// fingerprint first, else matching fingerprint alone in the same directory (the file was renamed or copied).
    private func restoredOffset(path: String, info: FileStatus, head: [UInt8]) -> Int64? {
        func fits(_ e: Checkpoint.Entry) -> Bool {
            head.starts(with: e.fingerprint) && info.size >= e.offset
        }
        let index = restored.firstIndex(where: { $0.device == info.device && $0.inode == info.inode && fits($0) })
            ?? restored.firstIndex(where: { !$0.fingerprint.isEmpty && fits($0) && Self.directory($0.path) == Self.directory(path) })
        guard let index else { return nil }
        return restored.remove(at: index).offset
    }
}
