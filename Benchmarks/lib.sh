# Helpers shared by the benchmark scripts (sourced; they set PID and METRICS_URL).

# Whether something listens on host:port.
port_open() { (exec 3<>"/dev/tcp/${1%:*}/${1#*:}") 2>/dev/null; }

# utime + stime of process $PID, in clock ticks (fields 14 and 15 of /proc/PID/stat; the
# command name in field 2 may contain spaces, so count from the last ')').
cpu_ticks() {
    local s f
    s=$(<"/proc/$PID/stat")
    read -r -a f <<<"${s##*) }"
    echo $(( f[11] + f[12] ))
}

# The median of the numbers on standard input, one per line (the mean of the middle two for
# an even count).
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }

# Sum of a counter over all its label sets at $METRICS_URL (empty when absent).
metric_sum() {
    { curl -fsS --max-time 5 "$METRICS_URL" 2>/dev/null || true; } |
        awk -v n="$1" '$1 ~ ("^" n "(_total)?([{]|$)") { s += $NF; found = 1 } END { if (found) printf "%.0f\n", s }'
}
