import Glibc
import SystemIO
import Testing

/// What a failed call reports: the call, the path and the C library's text, the same way for
/// every module; and how errors are classified.
@Suite struct SystemErrorTests {
    @Test func aFailedCallNamesTheCallThePathAndTheErrnoText() throws {
        let dir = Scratch()
        let missing = dir.sub("missing/file")
        #expect(throws: SystemError(call: "open", path: missing, errno: ENOENT)) {
            try Sys.open(missing, O_RDONLY)
        }
        do {
            _ = try Sys.open(missing, O_RDONLY)
        } catch {
            #expect(error.description == "open \(missing): No such file or directory")
            #expect(error.isMissing && !error.isNoSpace && !error.isOutOfDescriptors && !error.isBusy)
        }
    }

    @Test func withoutAPathTheDescriptionIsCallAndText() {
        #expect(SystemError(call: "send", errno: EPIPE).description == "send: Broken pipe")
        #expect(SystemError(call: "setsockopt(SO_REUSEADDR)", errno: EBADF).description == "setsockopt(SO_REUSEADDR): Bad file descriptor")
    }

    @Test func noSpaceAndOutOfDescriptorsAreClassifiedFromErrno() {
        let full = SystemError(call: "write", path: "/x/y", errno: ENOSPC)
        #expect(full.description == "write /x/y: No space left on device")
        #expect(full.isNoSpace && !full.isOutOfDescriptors)
        #expect(SystemError(call: "write", path: "/x/y", errno: EDQUOT).isNoSpace)
        #expect(SystemError(call: "accept", errno: EMFILE).isOutOfDescriptors)
        #expect(SystemError(call: "open", path: "/x", errno: ENFILE).isOutOfDescriptors)
        #expect(SystemError(call: "open", path: "/x", errno: EMFILE).description == "open /x: Too many open files")
        let io = SystemError(call: "pread", path: "/x", errno: EIO)
        #expect(!io.isNoSpace && !io.isOutOfDescriptors && !io.isBusy && !io.isMissing)
    }

    /// strerror_r refuses numbers it does not know; the number itself is shown then.
    @Test func anUnknownErrnoIsShownAsItsNumber() {
        #expect(SystemError.message(99_999) == "errno 99999")
        #expect(SystemError(call: "close", errno: 99_999).description == "close: errno 99999")
    }

    /// EINTR is hard to provoke from a real call, so the wrapper is driven with a body that
    /// fails as an interrupted call does.
    @Test func callRetriesEINTRAndThrowsOtherErrors() throws {
        var attempts = 0
        let result = try Sys.call("fake", path: "/p") { () -> Int32 in
            attempts += 1
            if attempts < 3 { errno = EINTR; return -1 }
            return 7
        }
        #expect(result == 7 && attempts == 3)
        #expect(throws: SystemError(call: "fake", path: "/p", errno: ENOSPC)) {
            try Sys.call("fake", path: "/p") { () -> Int32 in errno = ENOSPC; return -1 }
        }
    }

    @Test func nonBlockingAnswersNilWhenNotReady() throws {
        var attempts = 0
        let notReady = try Sys.nonBlocking("read") { () -> Int in
            attempts += 1
            errno = attempts == 1 ? EINTR : EAGAIN
            return -1
        }
        #expect(notReady == nil && attempts == 2)
        #expect(try Sys.nonBlocking("read") { 5 } == 5)
        #expect(throws: SystemError(call: "read", errno: ECONNRESET)) {
            try Sys.nonBlocking("read") { () -> Int in errno = ECONNRESET; return -1 }
        }
    }
}
