/// Text helpers of the CLI's output: durations, UTC timestamps, numbers, column padding.
enum TextFormat {
    /// A duration with 3 significant digits (truncated) and the largest fitting unit:
    /// `850ns`, `12.3µs`, `1.23ms`, `120ms`, `4.56s`, `2m05s`, `1h02m`.
    static func duration(_ ns: UInt64) -> String {
        if ns < 1000 { return "\(ns)ns" }
        if ns < 1_000_000 { return significant(ns, unit: 1000) + "µs" }
        if ns < 1_000_000_000 { return significant(ns, unit: 1_000_000) + "ms" }
        if ns < 60_000_000_000 { return significant(ns, unit: 1_000_000_000) + "s" }
        let seconds = ns / 1_000_000_000
        if seconds < 3600 { return "\(seconds / 60)m" + pad(seconds % 60, 2) + "s" }
        return "\(seconds / 3600)h" + pad(seconds / 60 % 60, 2) + "m"
    }

    /// `value / unit` (in 1...999.x) with 3 significant digits.
    private static func significant(_ value: UInt64, unit: UInt64) -> String {
        let whole = value / unit
        let fraction = value % unit
        if whole >= 100 { return "\(whole)" }
        if whole >= 10 { return "\(whole)." + String(fraction * 10 / unit) }
        return "\(whole)." + pad(fraction * 100 / unit, 2)
    }

    /// `2023-11-14 22:13:20.123` (UTC, milliseconds).
    static func timestamp(_ ns: UInt64) -> String {
        let seconds = ns / 1_000_000_000
        let (year, month, day) = civilDate(daysSinceEpoch: Int64(seconds / 86_400))
        let time = seconds % 86_400
        return "\(year)-" + pad(UInt64(month), 2) + "-" + pad(UInt64(day), 2) + " " + pad(time / 3600, 2) + ":"
            + pad(time / 60 % 60, 2) + ":" + pad(time % 60, 2) + "." + pad(ns / 1_000_000 % 1000, 3)
    }

    /// Gregorian (year, month, day) of a day count since 1970-01-01 (days >= 0): 400-year
    /// eras of 146 097 days, years counted from March 1 so that Feb 29 ends a year.
    static func civilDate(daysSinceEpoch days: Int64) -> (Int64, Int, Int) {
        let shifted = days + 719_468
        let era = shifted / 146_097
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1_460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthFromMarch = (5 * dayOfYear + 2) / 153
        let day = Int(dayOfYear - (153 * monthFromMarch + 2) / 5 + 1)
        let month = Int(monthFromMarch < 10 ? monthFromMarch + 3 : monthFromMarch - 9)
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    /// A double without a trailing `.0` (`3`, `0.25`, `1e-07`).
    static func number(_ value: Double) -> String {
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return value.description
    }

    static func pad(_ value: UInt64, _ width: Int) -> String {
        let digits = String(value)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }

    /// `text` cut to `width` characters, ending in `…` when cut.
    static func truncate(_ text: String, _ width: Int) -> String {
        guard text.count > width else { return text }
        guard width > 1 else { return String(text.prefix(width)) }
        return String(text.prefix(width - 1)) + "…"
    }

    /// `text` padded with spaces to `width` characters (left-aligned, or right with `right`).
    static func pad(_ text: String, to width: Int, right: Bool = false) -> String {
        let fill = String(repeating: " ", count: max(0, width - text.count))
        return right ? fill + text : text + fill
    }

    /// `key=value`, quoting values that contain spaces or are empty.
    static func pair(_ key: String, _ value: String) -> String {
        let shown = truncate(value, 80)
        return shown.isEmpty || shown.contains(" ") ? "\(key)=\"\(shown)\"" : "\(key)=\(shown)"
    }
}
