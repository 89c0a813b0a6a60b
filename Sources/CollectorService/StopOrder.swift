import CollectorCore
import Synchronization

/// Stops the pipelines of one config producers first: a pipeline that connectors feed is
/// stopped once every pipeline feeding it has finished stopping, so what an upstream pipeline
/// drains, and what its connectors flush when they shut down, still finds its downstream
/// pipeline accepting. Pipelines no connector joins are stopped at once, side by side.
enum StopOrder {
    /// Calls `stop` for each of `pipelines` (config order) in that order, each once its
    /// upstream pipelines (by `connections`) have called back; `completion` runs when all have.
    static func producersFirst(_ pipelines: [Pipeline], connections: [PipelineConnection],
                               stop: @escaping @Sendable (Pipeline, @escaping @Sendable () -> Void) -> Void,
                               completion: @escaping @Sendable () -> Void) {
        guard !pipelines.isEmpty else { return completion() }
        // Pending upstream count per pipeline, and whom each one feeds. A connection naming
        // indexes past `pipelines` (not expected) is ignored rather than waited on forever.
        var waitingOn = [Int](repeating: 0, count: pipelines.count)
        var feeds = [Set<Int>](repeating: [], count: pipelines.count)
        for c in connections {
            for u in c.upstream where u < pipelines.count {
                for d in c.downstream where d < pipelines.count && d != u && feeds[u].insert(d).inserted {
                    waitingOn[d] += 1
                }
            }
        }
        // `begin` and `finished` call each other through the closures handed to `stop`.
        final class Runner: Sendable {
            let pipelines: [Pipeline]
            let feeds: [Set<Int>]
            let state: Mutex<(waitingOn: [Int], left: Int)>
            let stop: @Sendable (Pipeline, @escaping @Sendable () -> Void) -> Void
            let completion: @Sendable () -> Void

            init(_ pipelines: [Pipeline], _ feeds: [Set<Int>], _ waitingOn: [Int],
                 _ stop: @escaping @Sendable (Pipeline, @escaping @Sendable () -> Void) -> Void,
                 _ completion: @escaping @Sendable () -> Void) {
                self.pipelines = pipelines
                self.feeds = feeds
                self.state = Mutex((waitingOn: waitingOn, left: pipelines.count))
                self.stop = stop
                self.completion = completion
            }

            func begin(_ i: Int) {
                stop(pipelines[i]) { self.finished(i) }
            }

            func finished(_ i: Int) {
                let (ready, done) = state.withLock { s -> ([Int], Bool) in
                    s.left -= 1
                    var ready: [Int] = []
                    for d in feeds[i] {
                        s.waitingOn[d] -= 1
                        if s.waitingOn[d] == 0 { ready.append(d) }
                    }
                    return (ready, s.left == 0)
                }
                for d in ready.sorted() { begin(d) }
                if done { completion() }
            }
        }
        let runner = Runner(pipelines, feeds, waitingOn, stop, completion)
        // A cycle (refused by the parser) would leave its pipelines waiting: stop those too.
        let roots = waitingOn.indices.filter { waitingOn[$0] == 0 }
        for i in roots.isEmpty ? Array(pipelines.indices) : roots { runner.begin(i) }
    }
}
