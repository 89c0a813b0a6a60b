#!/usr/bin/env python3
"""Writes a file of realistic JSON log lines (the shape of a Go/Java service's structured logs:
time, level, logger, message, HTTP fields, trace context, sometimes an error) for the filelog
benchmark. Deterministic for a given --seed. Prints "<records> <bytes>" when done.

With --cri the lines are a container's log as the kubelet's CRI runtime writes it under
/var/log/pods: `<RFC 3339 nano time> <stdout|stderr> <P|F> <text>`, errors and warnings on
stderr interleaved with stdout, and about one line in 50 cut in two, a partial `P` line and its
final `F` rest (a record is then two lines of the file).

    gen_json_lines.py --out Benchmarks/out/app.log --size-mib 1100
    gen_json_lines.py --cri --out Benchmarks/out/pods/default_app-0_<uid>/app/0.log --size-mib 1100
"""
import argparse, random

MESSAGES = ["request completed", "request started", "cache miss", "cache hit", "user authenticated",
            "query executed", "retrying upstream call", "payment authorized", "order created",
            "connection pool exhausted, waiting", "slow query detected", "token refreshed"]
LOGGERS = ["http.server", "db.pool", "auth", "checkout.service", "cache.redis", "grpc.client"]
METHODS = ["GET", "GET", "GET", "POST", "PUT", "DELETE"]
PATHS = ["/api/v1/users/%d", "/api/v1/orders/%d/items", "/healthz", "/api/v2/cart/%d", "/metrics",
         "/api/v1/search?q=shoes&page=%d"]
LEVELS = ["info"] * 14 + ["debug"] * 3 + ["warn", "warn", "error"]
ERRORS = ["context deadline exceeded", "connection reset by peer", "duplicate key value violates unique constraint \\\"orders_pkey\\\""]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--size-mib", type=int, default=1100)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--cri", action="store_true", help="CRI container log lines (see above)")
    args = ap.parse_args()
    rnd = random.Random(args.seed)
    limit = args.size_mib << 20
    written = lines = 0
    # Pools of pre-rendered fields keep generation fast; combining them keeps lines varied.
    traces = ["%032x" % rnd.getrandbits(128) for _ in range(4096)]
    spans = ["%016x" % rnd.getrandbits(64) for _ in range(4096)]
    paths = [(p % rnd.randrange(1, 100000)) if "%d" in p else p for p in PATHS * 200]
    base = 1795000000  # seconds; 2026-11-18
    with open(args.out, "w", buffering=1 << 20) as f:
        chunk = []
        while written < limit:
            lines += 1
            t = base + lines // 5000
            level = rnd.choice(LEVELS)
            line = ('{"time":"2026-11-27T%02d:%02d:%02d.%06dZ","level":"%s","logger":"%s","msg":"%s",'
                    '"method":"%s","path":"%s","status":%d,"duration_ms":%.3f,"trace_id":"%s","span_id":"%s"'
                    % ((t // 3600) % 24, (t // 60) % 60, t % 60, lines % 1000000, level, rnd.choice(LOGGERS),
                       rnd.choice(MESSAGES), rnd.choice(METHODS), rnd.choice(paths),
                       500 if level == "error" else rnd.choice((200, 200, 200, 201, 204, 304, 404)),
                       rnd.random() * 250, rnd.choice(traces), rnd.choice(spans)))
            if level == "error":
                line += ',"error":"%s"' % rnd.choice(ERRORS)
            line += "}\n"
            if args.cri:
                stamp = "2026-11-27T%02d:%02d:%02d.%09dZ" % ((t // 3600) % 24, (t // 60) % 60, t % 60, lines % 1000000000)
                stream = "stderr" if level in ("warn", "error") else "stdout"
                if lines % 50 == 0:
                    cut = len(line) // 2
                    line = "%s %s P %s\n%s %s F %s" % (stamp, stream, line[:cut], stamp, stream, line[cut:])
                else:
                    line = "%s %s F %s" % (stamp, stream, line)
            chunk.append(line)
            written += len(line)
            if len(chunk) == 10000:
                f.write("".join(chunk))
                chunk.clear()
        f.write("".join(chunk))
    print(lines, written)


if __name__ == "__main__":
    main()
