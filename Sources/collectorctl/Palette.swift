import ArgumentParser
import Glibc

/// ANSI colours for the CLI's output, or none: `paint` returns the text unchanged when
/// disabled, so renderers are written once and tested without escape codes.
struct Palette: Equatable {
    var enabled: Bool

    static let plain = Palette(enabled: false)

    enum Color: String {
        case bold = "1", dim = "2", red = "31", green = "32", yellow = "33", blue = "34", magenta = "35", cyan = "36"
        case boldRed = "1;31", brightBlue = "94", brightMagenta = "95", brightCyan = "96"
    }

    func paint(_ text: String, _ color: Color) -> String {
        enabled && !text.isEmpty ? "\u{1B}[\(color.rawValue)m\(text)\u{1B}[0m" : text
    }

    /// Colours given to services in order of appearance.
    static let services: [Color] = [.cyan, .magenta, .blue, .green, .yellow, .brightCyan, .brightMagenta, .brightBlue]

    /// The colour of a log severity.
    static func severity(_ text: String) -> Color {
        let upper = text.uppercased()
        if upper.hasPrefix("ERR") || upper.hasPrefix("FATAL") || upper.hasPrefix("CRIT") || upper.hasPrefix("EMERG") || upper.hasPrefix("ALERT") {
            return .red
        }
        if upper.hasPrefix("WARN") { return .yellow }
        if upper.hasPrefix("INFO") || upper.hasPrefix("NOTICE") { return .green }
        return .dim
    }
}

/// `--color auto|always|never`: `auto` colours only when stdout is a terminal and `NO_COLOR`
/// is not set.
enum ColorMode: String, ExpressibleByArgument, CaseIterable {
    case auto, always, never

    var palette: Palette {
        switch self {
        case .always: Palette(enabled: true)
        case .never: .plain
        case .auto: Palette(enabled: isatty(STDOUT_FILENO) == 1 && getenv("NO_COLOR") == nil)
        }
    }
}
