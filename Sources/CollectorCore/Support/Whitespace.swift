extension StringProtocol {
    /// Without leading and trailing whitespace (newlines included), as Foundation's
    /// `trimmingCharacters(in: .whitespacesAndNewlines)`, which the daemon does not link.
    public var trimmingWhitespace: String {
        var s = Substring(self)
        while s.first?.isWhitespace == true { s.removeFirst() }
        while s.last?.isWhitespace == true { s.removeLast() }
        return String(s)
    }
}
