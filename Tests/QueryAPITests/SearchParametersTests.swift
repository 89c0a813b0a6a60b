import OTLPCodec
@testable import QueryAPI
import Testing

@Suite struct SearchParametersTests {
    private func jaeger(_ query: String) throws(ParameterError) -> TraceQuery {
        try SearchParameters.jaeger(QueryParameters(query)).query
    }

    private func jaegerError(_ query: String) -> String? {
        do throws(ParameterError) {
            _ = try SearchParameters.jaeger(QueryParameters(query))
            return nil
        } catch {
            return error.message
        }
    }

    private func tempoError(_ query: String) -> String? {
        do throws(ParameterError) {
            _ = try SearchParameters.tempo(QueryParameters(query))
            return nil
        } catch {
            return error.message
        }
    }

    @Test func jaegerParameters() throws {
        let query = try jaeger(
            "service=shop%20api&operation=GET+%2Fcart&tags=%7B%22http.status_code%22%3A%22500%22%2C%22error%22%3Atrue%7D"
            + "&tag=region:eu:west&start=1700000000000000&end=1700000060000000&minDuration=250ms&maxDuration=1.5s&limit=7"
            + "&lookback=1h&prettyPrint=true")
        #expect(query == TraceQuery(
            service: "shop api", operation: "GET /cart",
            tags: ["http.status_code": "500", "error": "true", "region": "eu:west"],
            minDuration: .milliseconds(250), maxDuration: .milliseconds(1500),
            start: 1_700_000_000_000_000_000, end: 1_700_000_060_000_000_000, limit: 7))
    }

    @Test func jaegerDefaultsAndCaps() throws {
        #expect(try jaeger("service=a") == TraceQuery(service: "a", limit: 100))
        #expect(try jaeger("service=a&limit=100000").limit == 1500)
        #expect(try jaeger("service=a&operation=&minDuration=").operation == nil)
    }

    @Test func jaegerTraceIDs() throws {
        let parsed = try SearchParameters.jaeger(QueryParameters("traceID=4bf92f3577b34da6a3ce929d0e0e4736&traceID=ABC"))
        #expect(parsed.traceIDs == [OTLPTraceID(hex: "4bf92f3577b34da6a3ce929d0e0e4736")!,
                                    OTLPTraceID(hex: "00000000000000000000000000000abc")!])
    }

    @Test func jaegerErrors() {
        #expect(jaegerError("") == "parameter 'service' is required")
        #expect(jaegerError("operation=x") == "parameter 'service' is required")
        #expect(jaegerError("service=a&limit=abc") == "unable to parse param 'limit': \"abc\" is not a positive integer")
        #expect(jaegerError("service=a&limit=0") == "unable to parse param 'limit': \"0\" is not a positive integer")
        #expect(jaegerError("service=a&limit=-3") == "unable to parse param 'limit': \"-3\" is not a positive integer")
        #expect(jaegerError("service=a&minDuration=fast")
            == "unable to parse param 'minDuration': invalid duration \"fast\" (examples: 250ms, 1.5s, 2m)")
        #expect(jaegerError("service=a&maxDuration=10") // a unit is required
            == "unable to parse param 'maxDuration': invalid duration \"10\" (examples: 250ms, 1.5s, 2m)")
        #expect(jaegerError("service=a&minDuration=2s&maxDuration=1s") == "'maxDuration' should be greater than 'minDuration'")
        #expect(jaegerError("service=a&start=yesterday")
            == "unable to parse param 'start': \"yesterday\" is not a unix time in microseconds")
        #expect(jaegerError("service=a&end=99999999999999999999")
            == "unable to parse param 'end': \"99999999999999999999\" is not a unix time in microseconds")
        #expect(jaegerError("service=a&tag=nocolon") == "malformed 'tag' parameter, expecting key:value, received: nocolon")
        #expect(jaegerError("service=a&tags=%5B%5D")
            == "malformed 'tags' parameter, cannot unmarshal JSON: expected '{' at position 0")
        #expect(jaegerError("service=a&tags=%7B%22a%22%3Anull%7D")
            == "malformed 'tags' parameter, cannot unmarshal JSON: the value of \"a\" must be a string at position 5")
        #expect(jaegerError("traceID=xyz") == "cannot parse traceID param: invalid trace id \"xyz\": expected 1 to 32 hex digits")
    }

    @Test func tempoParameters() throws {
        let query = try SearchParameters.tempo(QueryParameters(
            "tags=service.name%3Dshop+name%3D%22GET+%2Fcart%22+error%3Dtrue&minDuration=1ms&limit=3&start=10&end=20"))
        #expect(query == TraceQuery(
            service: "shop", operation: "GET /cart", tags: ["error": "true"], minDuration: .milliseconds(1),
            start: 10_000_000_000, end: 20_000_000_000, limit: 3))
        #expect(try SearchParameters.tempo(QueryParameters(nil)) == TraceQuery(limit: 20))
    }

    @Test func tempoErrors() {
        #expect(tempoError("limit=0") == "invalid limit: \"0\" is not a positive integer")
        #expect(tempoError("minDuration=x") == "invalid minDuration: invalid duration \"x\" (examples: 250ms, 1.5s, 2m)")
        #expect(tempoError("minDuration=2s&maxDuration=1s") == "invalid maxDuration: must be greater than minDuration")
        #expect(tempoError("start=20&end=10") == "invalid end: must not be before start")
        #expect(tempoError("start=soon") == "invalid start: \"soon\" is not a unix time in seconds")
        #expect(tempoError("tags=a%3D1+a%3D2") == "invalid tags: tag a has been set twice")
        #expect(tempoError("tags=a") == "invalid tags: expected '=' after key \"a\" at position 1")
        #expect(tempoError("tags=a%3D%22open") == "invalid tags: unterminated quoted value at position 7")
    }

    @Test func logfmtAndJSONTags() throws {
        #expect(try TagSyntax.logfmt(#"  a=1   b="x y" c="q\"uote" d= "#) == ["a": "1", "b": "x y", "c": "q\"uote", "d": ""])
        #expect(try TagSyntax.json(#" { "a" : "1", "b\n\u00e9\ud83d\ude00" : 2.5 , "c": false } "#)
            == ["a": "1", "b\né😀": "2.5", "c": "false"])
        #expect(try TagSyntax.json("{}") == [:])
        #expect(throws: ParameterError.self) { try TagSyntax.json(#"{"a":"1",}"#) }
        #expect(throws: ParameterError.self) { try TagSyntax.json(#"{"a":"1"} x"#) }
        #expect(throws: ParameterError.self) { try TagSyntax.json(#"{"a":{"b":"c"}}"#) }
    }

    @Test func queryStringDecoding() {
        let p = QueryParameters("a=1&b=x%20y+z&b=2&c&d=%zz&e=%E2%9C%93&=v")
        #expect(p["a"] == "1")
        #expect(p["b"] == "x y z")
        #expect(p.all("b") == ["x y z", "2"])
        #expect(p["c"] == nil && p.contains("c"))
        #expect(p["d"] == "%zz")
        #expect(p["e"] == "✓")
        #expect(QueryParameters.decode("a+b%2Fc", plusIsSpace: false) == "a+b/c")
    }

    @Test func traceIDs() throws {
        #expect(try TraceIDParameter.parse("4BF92F3577B34DA6A3CE929D0E0E4736").hex == "4bf92f3577b34da6a3ce929d0e0e4736")
        #expect(try TraceIDParameter.parse("1").hex == "00000000000000000000000000000001")
        #expect(try TraceIDParameter.parse("a3ce929d0e0e4736").hex == "0000000000000000a3ce929d0e0e4736")
        for bad in ["", "xyz", "4bf92f3577b34da6a3ce929d0e0e47361", " 1", "0x12"] {
            #expect(throws: ParameterError("invalid trace id \(TraceIDParameter.quoted(bad)): expected 1 to 32 hex digits")) {
                try TraceIDParameter.parse(bad)
            }
        }
        #expect(throws: ParameterError("invalid trace id \"000\": the all-zero id is not a trace id")) {
            try TraceIDParameter.parse("000")
        }
    }
}
