/// RFC 3339 UTC timestamps without Foundation's formatters (which load ICU, megabytes of RSS
/// in a process that otherwise never needs it).
public enum RFC3339 {
    /// `2026-11-27T00:14:05.123Z` for `nanoseconds` since the Unix epoch, with `digits`
    /// fractional digits (0...9).
    public static func format(nanoseconds: UInt64, digits: Int = 3) -> String {
        let seconds = Int64(nanoseconds / 1_000_000_000)
        let fraction = nanoseconds % 1_000_000_000
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let secondOfDay = seconds - days * 86_400
        let (y, m, d) = civil(daysSinceEpoch: days)
        var out = "\(pad(y, 4))-\(pad(m, 2))-\(pad(d, 2))T"
        out += "\(pad(secondOfDay / 3600, 2)):\(pad(secondOfDay / 60 % 60, 2)):\(pad(secondOfDay % 60, 2))"
        if digits > 0 {
            let scaled = Int64(fraction) / pow10(9 - min(digits, 9))
            out += "." + pad(scaled, min(digits, 9))
        }
        return out + "Z"
    }

    /// Year, month, day of a day count since 1970-01-01 (proleptic Gregorian calendar), by the
    /// usual era arithmetic: 400-year eras of 146097 days, years starting in March.
    static func civil(daysSinceEpoch: Int64) -> (Int64, Int64, Int64) {
        let z = daysSinceEpoch + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        return (year, month, day)
    }

    private static func pow10(_ n: Int) -> Int64 {
        var v: Int64 = 1
        for _ in 0..<n { v *= 10 }
        return v
    }

    private static func pad(_ v: Int64, _ width: Int) -> String {
        let s = String(v)
        return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
    }
}
