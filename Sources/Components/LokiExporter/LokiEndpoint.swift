import HTTPClient

/// The push URL: `http[s]://host[:port][/path]`, Loki's push path when none is given.
enum LokiEndpoint {
    static let defaultPath = "/loki/api/v1/push"

    /// The endpoint the client connects to (path "": requests carry the push path), and that
    /// path; nil when the URL is not http(s).
    static func parse(_ url: String) -> (endpoint: HTTPEndpoint, path: String)? {
        guard var endpoint = HTTPEndpoint(url) else { return nil }
        let path = endpoint.path.isEmpty ? defaultPath : endpoint.path
        endpoint.path = ""
        return (endpoint, path)
    }
}
