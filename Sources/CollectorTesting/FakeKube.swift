import Foundation

/// Runs Tests/EndToEndTests/clients/fake_kube_api.py (a Kubernetes API server speaking the
/// real list/watch protocol, objects from the official Python client's models) and drives its
/// control API.
public final class FakeKube: Sendable {
    public struct Info: Decodable, Sendable {
        public var port: Int
        public var control_port: Int
        public var kubeconfig: String
        public var serviceaccount_dir: String
        public var token: String?
        public var cluster_uid: String?
    }
    public let process: ManagedProcess
    public let info: Info
    public let state: TemporaryDirectory

    public init(_ args: [String]) async throws {
        state = try TemporaryDirectory(prefix: "fake-kube")
        process = try PythonClient.start(script: "fake_kube_api.py", args: ["--state-dir", state.path] + args)
        try await process.waitForOutput(containing: "\"control_port\"", in: .stdout, timeout: .seconds(60))
        guard let line = process.stdoutText.split(separator: "\n").first else { throw TestSetupError("fake_kube_api printed nothing") }
        info = try JSONDecoder().decode(Info.self, from: Data(line.utf8))
    }

    @discardableResult
    public func control(_ action: String, _ body: Any = [String: Any]()) async throws -> [String: Any] {
        let data = try JSONSerialization.data(withJSONObject: body)
        let response = try await SimpleHTTP.post(port: info.control_port, path: "/_control/\(action)", body: data,
                                                 contentType: "application/json")
        guard response.status == 200 else { throw TestSetupError("control \(action): \(response.status) \(response.text)") }
        return (try JSONSerialization.jsonObject(with: Data(response.text.utf8)) as? [String: Any]) ?? [:]
    }

    public func requests() async throws -> [[String: Any]] {
        let response = try await SimpleHTTP.get(port: info.control_port, path: "/_control/requests")
        let object = try JSONSerialization.jsonObject(with: Data(response.text.utf8)) as? [String: Any]
        return object?["requests"] as? [[String: Any]] ?? []
    }

    /// GET /_control/state: resource_version, compacted, object counts, open_watches.
    public func state() async throws -> [String: Any] {
        let response = try await SimpleHTTP.get(port: info.control_port, path: "/_control/state")
        return (try JSONSerialization.jsonObject(with: Data(response.text.utf8)) as? [String: Any]) ?? [:]
    }

    /// Waits until `count` watches are open (a cut only cuts a watch that is there).
    public func waitForOpenWatches(_ count: Int = 1) async throws {
        try await waitUntil("\(count) open watches") { (try await state()["open_watches"] as? Int) == count }
    }

    public func stop() { process.kill() }
}

