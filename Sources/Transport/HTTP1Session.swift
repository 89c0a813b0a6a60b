import Dispatch

/// HTTP/1.x on one connection: parses requests, dispatches them, and writes the responses
/// strictly in request order (pipelined requests are answered sequentially even when their
/// handlers finish out of order).
///
/// Keep-alive follows the request (`Connection: close`, HTTP/1.0 rules). A parse error is
/// answered with its status and `connection: close`, after the responses already owed; the
/// rest of the input is ignored and the connection lingers briefly before closing. At most
/// ``maxPipelined`` requests are in flight; beyond that, requests already parsed wait in a
/// queue and reading pauses. The bytes of the request still arriving are reserved from the
/// connection's ``RequestBudget`` after every read; when the budget refuses, the request is
/// answered 503 with Retry-After (after the responses already owed) and the connection closes.
// @unchecked Sendable: all mutable state is touched only on the connection's serial queue;
// the responder closures only capture `self` to enqueue work on that queue.
final class HTTP1Session: ProtocolSession, @unchecked Sendable {
    static let maxPipelined = 32

    private struct Slot {
        var response: HTTPResponse?
        /// Cancelled if the connection closes before the response is written.
        var cancellation: RequestCancellation?
        var keepAlive: Bool
        var omitBody: Bool
        var version: HTTPVersion
    }

    /// Strong: the cycle with `Connection.session` is broken when the connection closes.
    private let connection: Connection
    private let queue: DispatchQueue
    private var parser: HTTP1Parser
    /// Requests awaiting their turn to be written; `slots[0]` has sequence number `firstSeq`.
    private var slots: [Slot] = []
    private var firstSeq: UInt64 = 0
    /// No further requests are read (close requested, error, or end of input).
    private var closing = false
    private var draining = false
    private var peerFinished = false
    private var continuePending = false
    private var closed = false
    /// Parsed requests not started yet because ``maxPipelined`` are in flight (bounded by
    /// what one read event delivers, since reading pauses meanwhile).
    private var queued: [HTTP1Parser.Event] = []
    private(set) var completedRequests: UInt64 = 0
    /// The unfinished request's bytes reserved from the budget.
    private var hold = BudgetHold()

    var activity: SessionActivity {
        if !parser.isIdle && !closing { return parser.isReadingHead ? .receivingHead : .receiving }
        return slots.isEmpty && queued.isEmpty ? .idle : .busy
    }

    init(connection: Connection) {
        self.connection = connection
        self.queue = connection.queue
        self.parser = HTTP1Parser(limits: connection.router.limits, remoteAddress: connection.remoteAddress)
    }

    func receive(_ bytes: UnsafeRawBufferPointer) {
        guard !closing else { return }
        parser.limits = connection.router.limits
        queued.append(contentsOf: parser.feed(bytes))
        if !holdUnfinishedBytes() {
            parser.abandon()
            queued.append(.error(.busy))
        }
        dispatchQueued()
        flushResponses()
    }

    /// Makes the reservation match the parser's unfinished bytes; false when the budget
    /// cannot hold them (the reservation is then released).
    private func holdUnfinishedBytes() -> Bool {
        let unfinished = parser.unfinishedBytes
        hold.shrink(to: unfinished, in: connection.budget)
        if hold.grow(to: unfinished, in: connection.budget) { return true }
        hold.release(to: connection.budget)
        return false
    }

    /// Starts queued requests while fewer than ``maxPipelined`` are in flight.
    private func dispatchQueued() {
        var taken = 0
        while taken < queued.count && !closing && slots.count < Self.maxPipelined {
            let event = queued[taken]
            taken += 1
            switch event {
            case .request(let request, let keepAlive):
                startRequest(request, keepAlive: keepAlive && !draining)
            case .expectContinue:
                continuePending = true
            case .error(let error):
                let response = error == .busy ? BodyPolicy.busyResponse : HTTPResponse.text(error.status, error.reason + "\n")
                connection.router.refused(response)
                slots.append(Slot(response: response, cancellation: nil, keepAlive: false, omitBody: false, version: .http1_1))
                closing = true
            }
        }
        if closing {
            queued = []
        } else {
            queued.removeFirst(taken)
        }
    }

    func inputEnded() {
        // Requests already received (in flight or queued) are still answered, then we close.
        // A client that closed is usually gone (HTTP/1.1 half-close is rare): long handlers are
        // told they may stop early and answer with what they have.
        peerFinished = true
        for slot in slots where slot.response == nil { slot.cancellation?.cancel() }
        if slots.isEmpty && queued.isEmpty { connection.close() }
    }

    func outputDrained() {}

    func beginShutdown() {
        draining = true
        let idle = parser.isIdle && queued.isEmpty
        if slots.isEmpty && idle {
            closing = true
            connection.closeAfterFlush(linger: false)
        } else if idle {
            // The newest request in flight is the last one served on this connection.
            slots[slots.count - 1].keepAlive = false
            closing = true
        }
        // Otherwise the next request started is served with `connection: close`.
    }

    func forceClose() {}

    func connectionClosed() {
        closed = true
        for slot in slots where slot.response == nil { slot.cancellation?.cancel() }
        slots = []
        queued = []
        hold.release(to: connection.budget)
    }

    // MARK: - Requests and responses

    private func startRequest(_ request: HTTPRequest, keepAlive: Bool) {
        completedRequests += 1
        let seq = firstSeq + UInt64(slots.count)
        continuePending = false
        if !keepAlive { closing = true }
        slots.append(Slot(response: nil, cancellation: request.cancellation, keepAlive: keepAlive,
                          omitBody: request.method == "HEAD", version: request.version))
        let router = connection.router
        switch router.admit(request) {
        case .reject(let response):
            router.refused(response)
            complete(seq: seq, response: response, flush: false)
        case .accept(let policy):
            if let refusal = policy.verdict(on: request.body) {
                router.refused(refusal)
                complete(seq: seq, response: refusal, flush: false)
            } else {
                router.dispatch(request) { [weak self] response in
                    guard let self else { return }
                    self.queue.async { self.complete(seq: seq, response: response, flush: true) }
                }
            }
        }
    }

    private func complete(seq: UInt64, response: HTTPResponse, flush: Bool) {
        guard !closed, seq >= firstSeq else { return }
        let index = Int(seq - firstSeq)
        guard index < slots.count, slots[index].response == nil else { return }
        slots[index].response = response
        if flush { flushResponses() }
    }

    /// Writes every response that is next in order, then decides whether to close.
    private func flushResponses() {
        guard !closed else { return }
        while let first = slots.first, let response = first.response {
            slots.removeFirst()
            firstSeq += 1
            if !queued.isEmpty { dispatchQueued() }
            for chunk in HTTP1ResponseWriter.serialize(response, keepAlive: first.keepAlive,
                                                       requestVersion: first.version, omitBody: first.omitBody) {
                connection.write(chunk)
            }
            if !first.keepAlive {
                // Later pipelined requests (if any) are dropped with the connection.
                firstSeq += UInt64(slots.count)
                slots = []
                closing = true
                connection.flush()
                connection.closeAfterFlush(linger: !peerFinished)
                return
            }
        }
        if slots.isEmpty {
            if continuePending && !closing {
                continuePending = false
                connection.write(HTTP1ResponseWriter.continueResponse)
            }
            if peerFinished || (draining && parser.isIdle && queued.isEmpty) {
                closing = true
                connection.flush()
                connection.closeAfterFlush(linger: false)
                return
            }
        }
        connection.flush()
        connection.setReadingPaused(slots.count >= Self.maxPipelined || !queued.isEmpty)
    }
}
