import Patterns
import Testing

/// Capturing groups and their names, as the attributes processor's `extract` action reads them
/// (Go's `regexp.FindStringSubmatch` and `SubexpNames`).
@Suite struct PatternGroupTests {
    @Test func namedGroupsAndWhereTheyMatched() throws {
        let p = try Pattern(#"^/api/(?P<version>v\d+)/users/(?P<id>\d+)(/(?P<rest>.*))?$"#)
        #expect(p.groupNames == [nil, "version", "id", nil, "rest"])
        let text = Array("/api/v2/users/1234".utf8)
        let groups = try #require(text.withUnsafeBytes { p.groups($0) })
        func piece(_ r: Range<Int>?) -> String? { r.map { String(decoding: text[$0], as: UTF8.self) } }
        #expect(groups.map(piece) == ["/api/v2/users/1234", "v2", "1234", nil, nil])
        #expect(Array("/other".utf8).withUnsafeBytes { p.groups($0) } == nil)
    }

    @Test func groupNamesAndNoGroups() throws {
        let p = try Pattern(#"(?P<user>[a-z]+)@example\.com"#)
        #expect(p.groupNames == [nil, "user"])
        // Debian 12's RE2 predates the (?<name>...) form Go 1.22 also accepts: a clear error.
        #expect(throws: Pattern.SyntaxError.self) { try Pattern(#"(?<user>[a-z]+)"#) }
        // A pattern without groups has only the whole match.
        let plain = try Pattern("abc")
        #expect(plain.groupNames == [nil])
        let groups = try #require(Array("xxabcxx".utf8).withUnsafeBytes { plain.groups($0) })
        #expect(groups == [2..<5])
    }
}
