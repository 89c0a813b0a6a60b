import CollectorCore
import CollectorService
import FuzzSupport

/// The config file (`collectord validate`, start and SIGHUP reload): `YAMLLoader` (libyaml's
/// event stream composed into nodes, aliases refused, `${env:...}` expansion) and `ConfigParser` with every
/// component factory of the daemon validating its section.
///
/// Input: the file. Oracles: no crash, hang or blow-up on any text; a refusal names at least
/// one problem, each with a message; an accepted config has a pipeline.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzConfig(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    let environment = ["HOME": "/home/collector", "NODE": "node-1", "PORT": "4317", "EMPTY": ""]
    do {
        let config = try ComponentCatalog.parser.parse(yaml: text, file: "fuzz.yaml", environment: environment)
        require(!config.pipelines.isEmpty, "a config without pipelines was accepted")
    } catch {
        require(!error.problems.isEmpty, "a refusal without problems")
        for problem in error.problems { require(!problem.message.isEmpty, "a problem without a message at \(problem.path)") }
    }
    return 0
}
