import Patterns
import Testing

@Suite struct PatternTests {
    /// `(a+)+$` backtracks exponentially in engines like Swift's Regex or PCRE on "aaa...ab";
    /// RE2 answers in linear time. The result is what is asserted (timing belongs in benchmarks),
    /// but an exponential engine would not finish this test at all.
    @Test func catastrophicPatternMatchesALongInputCorrectly() throws {
        let pattern = try Pattern("(a+)+$")
        let noMatch = String(repeating: "a", count: 100_000) + "b"
        #expect(!pattern.matches(noMatch))
        #expect(pattern.matches(String(repeating: "a", count: 100_000)))
        let nested = try Pattern("^(a|aa)+(b|c)?$")
        #expect(!nested.matches(String(repeating: "a", count: 50_000) + "x"))
    }

    @Test func anchorsMeanWhatTheySay() throws {
        let p = try Pattern("b+c")
        #expect(p.matches("aabbc"))
        #expect(!p.matches("aabbc", anchor: .start))
        #expect(p.matches("bbcd", anchor: .start))
        #expect(!p.matches("bbcd", anchor: .whole))
        #expect(p.matches("bbc", anchor: .whole))
    }

    /// RE2 syntax as in Go: Perl classes, named groups in Go's `(?P<name>...)` form, Unicode
    /// classes, and no backreferences (which Go rejects too).
    @Test func goSyntaxIsAcceptedAndBackreferencesAreNot() throws {
        #expect(try Pattern(#"^\d{4}-\d{2}-\d{2}"#).matches("2024-05-06 start"))
        #expect(try Pattern(#"(?P<level>INFO|WARN)"#).groupCount == 1)
        #expect(try Pattern(#"^\p{Greek}+$"#).matches("αβγ"))
        #expect(try Pattern("(?i)error").matches("An ERROR here"))
        #expect(throws: Pattern.SyntaxError.self) { try Pattern(#"(a)\1"#) }
        #expect(throws: Pattern.SyntaxError.self) { try Pattern("(unclosed") }
        do {
            _ = try Pattern("a(b")
            Issue.record("expected an error")
        } catch {
            #expect(error.description == #"invalid regular expression "a(b": missing ): a(b"#)
        }
    }

    @Test func matchesBytesThatAreNotValidUTF8() throws {
        let p = try Pattern("ok$")
        let bytes: [UInt8] = [0xff, 0xfe, 0x6f, 0x6b]
        #expect(bytes.withUnsafeBytes { p.matches($0) })
    }
}
