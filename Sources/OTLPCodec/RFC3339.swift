/// RFC 3339 timestamps in UTC with nanoseconds.
enum RFC3339 {
    /// `2023-11-14T22:13:20.123456789Z` for nanoseconds since the Unix epoch.
    static func format(nanos: UInt64) -> String {
        let seconds = nanos / 1_000_000_000
        let fraction = nanos % 1_000_000_000
        let days = Int64(seconds / 86_400)
        let secondOfDay = Int(seconds % 86_400)
        let (year, month, day) = civilDate(daysSinceEpoch: days)
        var s = pad(Int(year), 4) + "-" + pad(month, 2) + "-" + pad(day, 2)
        s += "T" + pad(secondOfDay / 3600, 2) + ":" + pad(secondOfDay / 60 % 60, 2) + ":" + pad(secondOfDay % 60, 2)
        return s + "." + pad(Int(fraction), 9) + "Z"
    }

    /// Proleptic Gregorian (year, month, day) of a day count from 1970-01-01 (days >= 0).
    /// Works in 400-year eras of 146 097 days, with years starting on March 1 so that the
    /// leap day is the last day of a year.
    static func civilDate(daysSinceEpoch: Int64) -> (Int64, Int, Int) {
        let shifted = daysSinceEpoch + 719_468          // days since 0000-03-01
        let era = shifted / 146_097
        let dayOfEra = shifted - era * 146_097          // 0...146096
        let yearOfEra = (dayOfEra - dayOfEra / 1_460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)  // 0...365
        let monthFromMarch = (5 * dayOfYear + 2) / 153  // 0 = March ... 11 = February
        let day = Int(dayOfYear - (153 * monthFromMarch + 2) / 5 + 1)
        let month = Int(monthFromMarch < 10 ? monthFromMarch + 3 : monthFromMarch - 9)
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        return (year, month, day)
    }

    private static func pad(_ value: Int, _ width: Int) -> String {
        let digits = String(value)
        return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
    }
}
