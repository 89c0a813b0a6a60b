import Glibc
import SystemIO
import Testing

@Suite struct AtomicFileTests {
    @Test func replaceCreatesThenReplacesAndLeavesNoTemporaryFile() throws {
        let dir = Scratch()
        try AtomicFile.replace(dir.sub("state"), with: Array("first".utf8))
        #expect(try dir.read("state") == "first")
        try AtomicFile.replace(dir.sub("state"), with: Array("second, longer".utf8))
        try AtomicFile.replace(dir.sub("state"), with: Array("3rd".utf8))
        #expect(try dir.read("state") == "3rd")
        #expect(try dir.names() == ["state"])
    }

    @Test func aFailedReplaceKeepsTheOldContentAndRemovesItsTemporaryFile() throws {
        let dir = Scratch()
        // The target is a non-empty directory: the rename fails after the temporary file was
        // written and synced.
        try Sys.makeDirectories(dir.sub("target/inside"))
        do {
            try AtomicFile.replace(dir.sub("target"), with: Array("x".utf8))
            Issue.record("renaming over a non-empty directory succeeded")
        } catch {
            #expect(error.call == "rename")
            #expect(error.path?.hasPrefix(dir.sub("target.tmp.\(AtomicFile.processToken).")) == true)
            #expect(error.path?.hasSuffix(" -> \(dir.sub("target"))") == true)
            #expect(error.errno == EISDIR || error.errno == ENOTEMPTY || error.errno == EEXIST)
        }
        #expect(try dir.names() == ["target"])
        #expect(try dir.names("target") == ["inside"])
    }

    @Test func aMissingDirectoryIsReportedOnTheTemporaryFile() throws {
        let dir = Scratch()
        let target = dir.sub("absent/state")
        do {
            try AtomicFile.replace(target, with: [1, 2, 3])
            Issue.record("writing into a missing directory succeeded")
        } catch {
            #expect(error.call == "open" && error.isMissing)
            #expect(error.path?.hasPrefix(target + ".tmp.") == true)
            #expect(error.description.hasSuffix(": No such file or directory"))
        }
        #expect(try dir.names() == [])
    }

    @Test func leftoversOfOtherProcessesAreRemovedAndThisProcesssAreKept() throws {
        let dir = Scratch()
        let mine = "checkpoint.tmp.\(AtomicFile.processToken).4"
        for name in ["checkpoint", "checkpoint.tmp.abc.1", "checkpoint.tmp.zz9.2", mine, "checkpoint.tmpx", "other.tmp.abc.1"] {
            try dir.write(name, name)
        }
        let removed = AtomicFile.removeLeftovers(of: dir.sub("checkpoint"))
        #expect(removed == [dir.sub("checkpoint.tmp.abc.1"), dir.sub("checkpoint.tmp.zz9.2")])
        #expect(try dir.names() == ["checkpoint", mine, "checkpoint.tmpx", "other.tmp.abc.1"].sorted())
        #expect(try dir.read("checkpoint") == "checkpoint")
    }

    @Test func replaceAndLeftoversWorkWithARelativePath() throws {
        let dir = Scratch()
        let previous = Sys.realPath(".")!
        #expect(chdir(dir.path) == 0)
        defer { _ = chdir(previous) }
        try dir.write("state.tmp.old.1", "stale")
        try AtomicFile.replace("state", with: Array("relative".utf8))
        #expect(AtomicFile.removeLeftovers(of: "state") == ["state.tmp.old.1"])
        #expect(try dir.names() == ["state"])
        #expect(try dir.read("state") == "relative")
    }
}
