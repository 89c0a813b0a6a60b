// For each gateway count: the ring's points, how evenly 200,000 random trace ids spread over the
// gateways (the coefficient of variation of their counts, and the busiest gateway's load against
// the mean), and the fraction of those traces that change gateway when one gateway is added or
// removed (the ideal is 1/(n+1) and 1/n).
import LoadBalancingExporter

var generator = SystemRandomNumberGenerator()
let ids: [[UInt8]] = (0..<200_000).map { _ in (0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) } }

func endpoints(_ n: Int) -> [String] {
    (0..<n).map { "10.\($0 / 65536 % 256).\($0 / 256 % 256).\($0 % 256):4317" }
}

func owners(_ ring: HashRing) -> [String] { ids.map { ring.endpoint(for: $0)! } }

print("gateways  points  cv_of_load  max/mean  moved_on_add  ideal_add  moved_on_remove  ideal_remove")
for n in [10, 30, 100, 300, 1000] {
    let names = endpoints(n)
    let ring = HashRing(names)
    let base = owners(ring)
    var counts: [String: Int] = [:]
    for owner in base { counts[owner, default: 0] += 1 }
    let loads = names.map { Double(counts[$0] ?? 0) }
    let mean = loads.reduce(0, +) / Double(n)
    let variance = loads.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(n)
    let cv = variance.squareRoot() / mean
    let maxRatio = (loads.max() ?? 0) / mean
    let added = owners(HashRing(names + endpoints(n + 1).suffix(1)))
    let removed = owners(HashRing(Array(names.dropFirst())))
    let movedAdd = Double(zip(base, added).filter { $0 != $1 }.count) / Double(ids.count)
    let movedRemove = Double(zip(base, removed).filter { $0 != $1 }.count) / Double(ids.count)
    func f(_ v: Double, _ digits: Int) -> String {
        var scale = 1.0
        for _ in 0..<digits { scale *= 10 }
        return String((v * scale).rounded() / scale)
    }
    print([String(n), String(ring.items.count), f(cv, 3), f(maxRatio, 2), f(movedAdd, 4), f(1.0 / Double(n + 1), 4),
           f(movedRemove, 4), f(1.0 / Double(n), 4)].joined(separator: "  "))
}
