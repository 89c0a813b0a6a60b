@testable import BearerTokenAuth
import CollectorCore
import CollectorTesting
import Foundation
import Synchronization
import Testing

/// The `bearertokenauth` extension: exact `<scheme> <token>` matches, the token file re-read
/// when it changes (on an injected clock), and its settings.
@Suite struct BearerTokenAuthTests {
    @Test func acceptsExactlySchemeSpaceToken() throws {
        var settings = BearerTokenAuthSettings()
        settings.token = "s3cret"
        let auth = try BearerTokenAuthenticator(settings: settings)
        #expect(auth.authenticate(authorization: "Bearer s3cret"))
        for refused in [nil, "", "Bearer", "Bearer s3cre", "Bearer s3cret2", "bearer s3cret", "Basic s3cret", "Bearer  s3cret"] {
            #expect(!auth.authenticate(authorization: refused), "\(refused ?? "nil")")
        }
        #expect(auth.challenge == "Bearer")
        settings.scheme = "Token"
        #expect(try BearerTokenAuthenticator(settings: settings).authenticate(authorization: "Token s3cret"))
    }

    @Test func constantTimeComparison() {
        #expect(BearerTokenAuthenticator.constantTimeEqual(Array("abc".utf8), Array("abc".utf8)))
        #expect(!BearerTokenAuthenticator.constantTimeEqual(Array("abc".utf8), Array("abd".utf8)))
        #expect(!BearerTokenAuthenticator.constantTimeEqual(Array("abc".utf8), Array("abc\0".utf8)))
        #expect(!BearerTokenAuthenticator.constantTimeEqual([], Array("a".utf8)))
        // Lengths that differ by a multiple of 256 must not compare equal through truncation.
        #expect(!BearerTokenAuthenticator.constantTimeEqual([UInt8](repeating: 0, count: 256), []))
    }

    @Test func theTokenFileIsReReadWhenItChanges() throws {
        let dir = try TemporaryDirectory(prefix: "bearertoken")
        let file = dir.file("token")
        try Data("first\n".utf8).write(to: file)
        var settings = BearerTokenAuthSettings()
        settings.filename = file.path
        let clock = Atomic<UInt64>(0)
        let auth = try BearerTokenAuthenticator(settings: settings) { clock.load(ordering: .relaxed) }
        #expect(auth.authenticate(authorization: "Bearer first"))
        try Data("second-longer\n".utf8).write(to: file)
        #expect(auth.authenticate(authorization: "Bearer first"))   // not checked again yet
        clock.store(BearerTokenAuthenticator.checkInterval, ordering: .relaxed)
        #expect(auth.authenticate(authorization: "Bearer second-longer"))
        #expect(!auth.authenticate(authorization: "Bearer first"))
        // An emptied or removed file keeps the last token.
        try FileManager.default.removeItem(at: file)
        clock.store(3 * BearerTokenAuthenticator.checkInterval, ordering: .relaxed)
        #expect(auth.authenticate(authorization: "Bearer second-longer"))

        settings.filename = dir.file("missing").path
        #expect(throws: ComponentError.self) { try BearerTokenAuthenticator(settings: settings) }
    }

    @Test func settingsNeedATokenOrAFileNotBoth() {
        let parser = ConfigParser(factories: [BearerTokenAuthFactory(), StubComponentFactory(type: "nop", kind: .exporter),
                                              StubComponentFactory(type: "nopr", kind: .receiver)])
        func problems(_ body: String) -> String {
            let yaml = """
            extensions:
              bearertokenauth: \(body)
            receivers: {nopr: {}}
            exporters: {nop: {}}
            service:
              extensions: [bearertokenauth]
              pipelines:
                traces: {receivers: [nopr], exporters: [nop]}
            """
            do { _ = try parser.parse(yaml: yaml, file: "t.yaml", environment: [:]); return "" } catch { return "\(error)" }
        }
        #expect(problems("{token: abc}") == "")
        #expect(problems("{}").contains("extensions.bearertokenauth.token (line 2): a token (or a filename holding it) is required"))
        #expect(problems("{token: a, filename: /f}").contains("extensions.bearertokenauth.filename (line 2): either token or filename, not both"))
    }
}
