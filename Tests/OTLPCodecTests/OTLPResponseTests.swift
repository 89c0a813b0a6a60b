import Testing
@testable import OTLPCodec

@Suite struct OTLPResponseTests {
    @Test func fullSuccessIsEmpty() {
        #expect(OTLPResponse.encode(.traces, rejected: 0, errorMessage: nil) == [])
        #expect(OTLPResponse.encode(.logs, rejected: 0, errorMessage: "") == [])
        #expect(OTLPResponse.encode(.logs, rejected: -3, errorMessage: nil) == [])
    }

    @Test func partialSuccessMatchesTheReference() throws {
        #expect(OTLPResponse.encode(.traces, rejected: 3, errorMessage: "3 spans rejected")
            == (try Fixture.bytes("traces_response.pb")))
        #expect(OTLPResponse.encode(.logs, rejected: 3, errorMessage: "3 log records rejected")
            == (try Fixture.bytes("logs_response.pb")))
    }

    @Test func partialSuccessWithOnlyOnePart() {
        // partial_success { rejected_spans: 2 }
        #expect(OTLPResponse.encode(.traces, rejected: 2, errorMessage: nil) == [0x0A, 0x02, 0x08, 0x02])
        // partial_success { error_message: "x" }
        #expect(OTLPResponse.encode(.logs, rejected: 0, errorMessage: "x") == [0x0A, 0x03, 0x12, 0x01, 0x78])
    }

    @Test func jsonResponses() {
        func json(_ s: OTLPSignal, _ n: Int, _ m: String?) -> String {
            String(decoding: OTLPResponse.encodeJSON(s, rejected: n, errorMessage: m), as: UTF8.self)
        }
        #expect(json(.traces, 0, nil) == "{}")
        #expect(json(.traces, 2, "bad \"id\"") == #"{"partialSuccess":{"rejectedSpans":"2","errorMessage":"bad \"id\""}}"#)
        #expect(json(.logs, 5, nil) == #"{"partialSuccess":{"rejectedLogRecords":"5"}}"#)
    }
}
