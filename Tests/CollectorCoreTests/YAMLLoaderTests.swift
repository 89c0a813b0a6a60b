@testable import CollectorCore
import Testing

/// The loader on Debian's libyaml (no Yams): what a config author writes reads back with the
/// right values, paths and lines, and what it refuses is named.
@Suite struct YAMLLoaderTests {
    private func load(_ yaml: String) throws(ConfigError) -> ConfigNode {
        try YAMLLoader.load(yaml, environment: ["PORT": "4317"])
    }

    @Test func scalarsKeepTheirTextPathAndLine() throws {
        let yaml = """
            # a comment
            receivers:
              otlp:
                protocols:
                  grpc:
                    endpoint: "0.0.0.0:${env:PORT}"
                    tls: ~
                    max: 4
                  http: {}
            pipelines: [a, 'null', "", null, !!str null]
            text: |
              line one
              line two
            """
        let root = try load(yaml)
        let endpoint = root["receivers"]?["otlp"]?["protocols"]?["grpc"]?["endpoint"]
        #expect(endpoint?.scalar == "0.0.0.0:4317")
        #expect(endpoint?.path == "receivers.otlp.protocols.grpc.endpoint")
        #expect(endpoint?.line == 6)
        #expect(root["receivers"]?["otlp"]?["protocols"]?["grpc"]?["tls"]?.isNull == true)
        #expect(root["receivers"]?["otlp"]?["protocols"]?["grpc"]?["max"]?.scalar == "4")
        #expect(root["receivers"]?["otlp"]?["protocols"]?["http"]?.mapping?.isEmpty == true)
        #expect(root["receivers"]?.line == 3)
        guard case .sequence(let items) = root["pipelines"]?.value else {
            Issue.record("pipelines is not a sequence")
            return
        }
        // A plain null is null; quoted or tagged, it is the text.
        #expect(items.map(\.scalar) == ["a", "null", "", nil, "null"])
        #expect(items.map(\.isNull) == [false, false, false, true, false])
        #expect(items.map(\.path) == ["pipelines[0]", "pipelines[1]", "pipelines[2]", "pipelines[3]", "pipelines[4]"])
        #expect(root["text"]?.scalar == "line one\nline two")   // clip: no line break at the end of the text
    }

    @Test func anEmptyOrCommentOnlyFileIsAnEmptyMapping() throws {
        #expect(try load("").mapping?.isEmpty == true)
        #expect(try load("# nothing here\n").mapping?.isEmpty == true)
    }

    @Test func syntaxErrorsNameLineAndColumn() {
        do {
            _ = try load("a: 1\nb: [1, 2\nc: 3\n")
            Issue.record("accepted an unclosed flow sequence")
        } catch {
            #expect(error.problems.count == 1)
            #expect(error.problems[0].line == 3)
            #expect(error.problems[0].message.hasPrefix("invalid YAML: did not find expected ',' or ']' (column"))
        }
    }

    @Test func aSecondDocumentIsRefused() {
        do {
            _ = try load("a: 1\n---\nb: 2\n")
            Issue.record("accepted two documents")
        } catch {
            #expect(error.problems == [ConfigProblem(path: "", line: 2,
                                                     message: "invalid YAML: expected a single document in the stream, found another")])
        }
    }

    /// Nesting is bounded before anything recurses: 100,000 `[` is one problem, not a stack
    /// overflow in the conversion.
    @Test func deepNestingIsRefused() throws {
        do {
            _ = try load("a: " + String(repeating: "[", count: 100_000))
            Issue.record("accepted 100,000 levels")
        } catch {
            #expect(error.problems == [ConfigProblem(path: "", line: 1,
                                                     message: "invalid YAML: nested deeper than 512 levels")])
        }
        let deep = "a: " + String(repeating: "[", count: 500) + String(repeating: "]", count: 500)
        #expect(try load(deep)["a"] != nil)
    }

    /// Duplicates are reported per mapping with its path, at the first occurrence's line.
    @Test func duplicateKeysInANestedMapping() {
        do {
            _ = try load("exporters:\n  debug: {}\n  nop: {}\n  debug: {}\n  nop: {}\n")
            Issue.record("accepted duplicate keys")
        } catch {
            #expect(error.problems == [ConfigProblem(path: "exporters", line: 2, message: "duplicate keys \"debug\", \"nop\"")])
        }
    }

    @Test func anchorsWithoutAliasesAreFine() throws {
        #expect(try load("a: &x 1\nb: 2\n")["a"]?.scalar == "1")
    }
}
