import Foundation

/// Runs the Python client scripts in `Tests/EndToEndTests/clients` with the venv's python.
///
/// ```swift
/// let result = try await PythonClient.run(script: "send_traces.py",
///     args: ["--endpoint", "http://127.0.0.1:\(port)", "--protocol", "grpc"])
/// #expect(result.exitCode == 0, "\(result.stderr)")
/// let sent = try result.decode(ClientReport.self)
/// ```
/// Every script prints one JSON document on stdout (see `ClientReport`) and exits non-zero when
/// its export failed. OTEL_* variables and proxies are removed from the script's environment so
/// nothing outside the test changes what it sends or where.
public enum PythonClient {
    public static func run(
        script: String,
        args: [String] = [],
        timeout: Duration = .seconds(60),
        environment: [String: String] = [:]
    ) async throws -> CommandResult {
        let (python, arguments, env) = try command(script: script, args: args, environment: environment)
        return try await CommandRunner.run(
            python,
            arguments: arguments,
            environment: env,
            removeEnvironment: removedEnvironment,
            currentDirectory: RepoPaths.root,
            timeout: timeout)
    }

    /// Starts a client in the background (same environment as `run`) and returns at once.
    /// Watch its stderr with `waitForOutput(containing:in:)` (SDK retry warnings show up there)
    /// and collect it with `result(timeout:)`.
    ///
    /// ```swift
    /// let client = try PythonClient.start(script: "send_traces.py", args: [...])
    /// try await client.waitForOutput(containing: "Transient error", in: .stderr)
    /// let result = try await client.result()
    /// ```
    public static func start(
        script: String,
        args: [String] = [],
        environment: [String: String] = [:]
    ) throws -> ManagedProcess {
        let (python, arguments, env) = try command(script: script, args: args, environment: environment)
        return try ManagedProcess(
            executable: python, arguments: arguments, environment: env, removeEnvironment: removedEnvironment,
            currentDirectory: RepoPaths.root)
    }

    /// Also the CA bundle variables: `requests` lets them override the CA a client was given
    /// (its session's `verify`), so the OTLP/HTTP exporter's `certificate_file` would be ignored.
    private static let removedEnvironment = [
        "OTEL_*", "PYTHONPATH", "PYTHONHOME", "http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy",
        "ALL_PROXY", "grpc_proxy", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE",
    ]

    private static func command(script: String, args: [String], environment: [String: String]) throws
        -> (URL, [String], [String: String])
    {
        let python = try RepoPaths.requireVenvPython()
        let name = script.hasSuffix(".py") ? script : script + ".py"
        let path = RepoPaths.clientsDirectory.appendingPathComponent(name)
        guard FileManager.default.fileExists(atPath: path.path) else {
            throw TestSetupError("no client script \(path.path)")
        }
        var env = [
            "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONUNBUFFERED": "1",
            "NO_PROXY": "127.0.0.1,localhost,::1",
            "no_proxy": "127.0.0.1,localhost,::1",
        ]
        env.merge(environment) { _, new in new }
        return (python, [path.path] + args, env)
    }
}
