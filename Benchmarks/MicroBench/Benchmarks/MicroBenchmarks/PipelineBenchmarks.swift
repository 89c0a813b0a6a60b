import Benchmark
import BatchProcessor
import CollectorCore
import Store

#if canImport(Glibc)
import Glibc
#endif

// The benchmarks' state lives from one measured closure call to the next (the batch holds what
// it merged, the store grows). nonisolated(unsafe): package-benchmark calls setup, the closure
// and teardown of one benchmark one after another on one thread.
nonisolated(unsafe) private var batchProcessor: BatchProcessor?
nonisolated(unsafe) private var store: TraceStore?
nonisolated(unsafe) private var storeDirectory = ""

/// The batch processor merging requests, and the store appending them.
func pipelineBenchmarks() {
    // Default settings: batches of 8,192 spans, so the ninth request sends one. One iteration
    // is those nine requests (9,000 spans) and the batch they make: requests per second are
    // iterations x 9.
    batchMergeBenchmark("batch merge, 9 requests of 1,000 spans = one batch (send_batch_size 8192)") { blackHole($0) }

    // The same, with the one copy a batch merged by reference costs where a consumer needs it
    // in one buffer (a processor after batch, or an exporter that does not read parts: the
    // pipeline joins it once). The joined buffer goes back to the pool as an exporter's would.
    batchMergeBenchmark("batch merge and join, 9 requests of 1,000 spans = one batch (send_batch_size 8192)") { out in
        var whole = out
        whole.join()
        blackHole(whole.payload.count)
        whole.giveBuffers()
    }

    // The store's defaults (zstd level 3, 4 MiB blocks, 64 MiB segments, `sync: interval` of
    // 1 s) in a fresh directory under /tmp; retention keeps it under 512 MiB.
    Benchmark("store append, sync interval (1,000-span request)") { benchmark in
        for _ in benchmark.scaledIterations {
            try store!.append(kind: .spans, payload: request, itemCount: 1000)
        }
    } setup: {
        var template = Array("/tmp/microbench-store-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { fatalError("mkdtemp failed") }
        storeDirectory = String(cString: made)
        var config = StoreConfig(directory: storeDirectory)
        config.retentionMaxBytes = 512 << 20
        store = try TraceStore(config: config)
    } teardown: {
        store?.close()
        store = nil
        removeTree(storeDirectory)
    }
}

/// `rm -r` of the store's directory (segments and index files, one level of subdirectories).
private func removeTree(_ path: String) {
    guard let dir = opendir(path) else { return }
    while let entry = readdir(dir) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { String(cString: $0.baseAddress!.assumingMemoryBound(to: CChar.self)) }
        if name == "." || name == ".." { continue }
        let child = path + "/" + name
        if unlink(child) != 0 { removeTree(child) }
    }
    closedir(dir)
    rmdir(path)
}

/// The batch processor at its defaults merging nine copies of the request (one batch) per
/// iteration; `sent` gets the batch.
private func batchMergeBenchmark(_ name: String, sent: @escaping (TelemetryBatch) -> Void) {
    Benchmark(name) { benchmark in
        for i in benchmark.scaledIterations {
            for _ in 0..<9 {
                let batch = TelemetryBatch(signal: .traces, payload: request, itemCount: 1000)
                batchProcessor!.process(batch, now: UInt64(i), emit: sent)
            }
        }
    } setup: {
        batchProcessor = BatchProcessor(settings: BatchSettings(), name: "batch", metrics: MetricsRegistry(),
                                        split: { _, bytes, _ in [(bytes, 0, [])] })
    } teardown: {
        batchProcessor = nil
    }
}
