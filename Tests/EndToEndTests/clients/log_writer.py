#!/usr/bin/env python3
"""A steady log writer that rotates its file, for the filelog rotation torture test.

Writes --lines numbered lines to <dir>/<name> at --rate lines per second (in small bursts,
catching up when it falls behind), each line a whole write(2) of the file opened with O_APPEND:

    seq=0000123 zzz...z end        (123 % 64 'z's; see line() below, the test rebuilds it)

Every --rotate-every lines it rotates, alternating (the first is a rename):
  - rename:       app.log.K -> app.log.K+1 for every K (oldest first), app.log -> app.log.1,
                  then a new app.log;
  - copytruncate: the same shift, then app.log is copied to app.log.1 and truncated in place
                  (ftruncate on the writer's own descriptor, so no line is written between the
                  copy and the truncation: unlike logrotate's, this copytruncate loses nothing).
Rotated files are never deleted, so every line written is in some file matched by <name>*.

Prints "progress <lines written>" on stdout about every 100 ms, "rotated <kind> <n> after <seq>"
after each rotation, and finally one JSON report:
{"lines": N, "renames": R, "copytruncates": C, "files": F, "seconds": S}.
"""
import argparse, json, os, shutil, sys, time


def line(seq):
    return "seq=%07d %s end\n" % (seq, "z" * (seq % 64))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--name", default="app.log")
    ap.add_argument("--lines", type=int, required=True)
    ap.add_argument("--rate", type=float, default=3000)
    ap.add_argument("--rotate-every", type=int, default=1500)
    args = ap.parse_args()

    path = os.path.join(args.dir, args.name)
    flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND

    def rotated(k):
        return "%s.%d" % (path, k)

    def shift(count):
        for k in range(count, 0, -1):
            os.rename(rotated(k), rotated(k + 1))

    fd = os.open(path, flags, 0o644)
    written = renames = copytruncates = kept = 0
    start = last_progress = time.monotonic()
    while written < args.lines:
        now = time.monotonic()
        due = min(args.lines, int((now - start) * args.rate) + 1)
        while written < due:
            # One write per burst, cut at the next rotation.
            upto = min(due, (written // args.rotate_every + 1) * args.rotate_every)
            os.write(fd, "".join(line(s) for s in range(written + 1, upto + 1)).encode())
            written = upto
            if written % args.rotate_every == 0 and written < args.lines:
                shift(kept)
                if (renames + copytruncates) % 2 == 0:
                    os.rename(path, rotated(1))
                    os.close(fd)
                    fd = os.open(path, flags, 0o644)
                    renames += 1
                    kind = "rename"
                else:
                    shutil.copyfile(path, rotated(1))
                    os.ftruncate(fd, 0)
                    copytruncates += 1
                    kind = "copytruncate"
                kept += 1
                print("rotated %s %d after %d" % (kind, renames + copytruncates, written), flush=True)
        if now - last_progress >= 0.1:
            print("progress %d" % written, flush=True)
            last_progress = now
        time.sleep(0.005)
    os.close(fd)
    print("progress %d" % written, flush=True)
    print(json.dumps({"lines": written, "renames": renames, "copytruncates": copytruncates, "files": kept + 1,
                      "seconds": round(time.monotonic() - start, 3)}), flush=True)


if __name__ == "__main__":
    sys.exit(main())
