#!/usr/bin/env python3
"""Independent reference model of the OpenTelemetry Collector contrib
`probabilistic_sampler` processor decision (traces, plus logs), written from
the spec in probabilistic.md.  Python 3 stdlib only.

Public entry points
-------------------
decide_trace(mode, percentage, seed, precision, fail_closed, trace_id,
             tracestate, priority=None)  -> (sampled: bool, tracestate_out|None)
decide_trace_full(...)                   -> dict(sampled, tracestate, errors)
decide_log(cfg: dict, trace_id: bytes, attrs: dict) -> dict(sampled, attrs, errors)

`mode` is "hash_seed" | "equalizing" | "proportional" | "" (unset).
`percentage` is the YAML/float value; it is rounded to float32 like Go's
`float32 SamplingPercentage`.  `precision` 0 means full (14 digits) -- that is
what upstream unit tests use when they build Config{} by hand; the factory
default is 4 and config validation rejects 0 and > 14.
`priority` is None or a (type, value) pair for the span attribute
"sampling.priority": type in {"int", "double", "string", "bool"}.

Run `python3 sampling_reference.py [vectors.json]` to self-test against
probabilistic_vectors.json (default: next to this file).
"""

import json
import math
import os
import re
import struct
import sys

# ----------------------------------------------------------------------------
# constants (pkg/sampling)
MAX_ADJ = 1 << 56            # MaxAdjustedCount; also NeverSampleThreshold
NUM_HEX = 14                 # NumHexDigits
ALWAYS = 0                   # AlwaysSampleThreshold
NEVER = MAX_ADJ              # NeverSampleThreshold
ALL_PROB_RND = MAX_ADJ - 1   # AllProbabilitiesRandomness
MIN_PROB = 1.0 / MAX_ADJ     # MinSamplingProbability = 2**-56

# processor hashing constants
NUM_BUCKETS_LG2 = 14
NUM_BUCKETS = 0x4000
BUCKET_MASK = NUM_BUCKETS - 1

# error texts (exact upstream strings)
E_TS_SIZE = "invalid tracestate size"
E_SYNTAX = "invalid syntax"                        # strconv.ErrSyntax
E_TV_SIZE = "t-value exceeds 14 hex digits"
E_TV_EMPTY = "t-value is empty"
E_RV_SIZE = "r-value must have 14 hex digits"
E_INCONS_SAMPLING = "cannot raise existing sampling probability"
E_PROB_RANGE = "sampling probability out of the range [1/MaxAdjustedCount, 1]"
E_INCONS_ARRIVING = "inconsistent arriving threshold: item should not have been sampled"
E_MISSING_RND = "missing randomness"
E_RND_IN_USE = "item has sampling randomness, equalizing or proportional mode recommended"
E_TH_IN_USE = "item has sampling threshold, equalizing or proportional mode recommended"


# ----------------------------------------------------------------------------
# numeric helpers
def f32(x):
    """Round a Python float (double) to IEEE float32 (round-half-even)."""
    return struct.unpack("<f", struct.pack("<f", x))[0]


def go_round(x):
    """math.Round: half away from zero; exact for doubles."""
    fl = math.floor(x)
    frac = x - fl          # exact for finite doubles
    if x >= 0:
        return int(fl) + (1 if frac >= 0.5 else 0)
    # negative: away from zero
    c = math.ceil(x)
    return int(c) - (1 if (c - x) >= 0.5 else 0)


def u64_shl(x, s):
    return 0 if s >= 64 else (x << s) & 0xFFFFFFFFFFFFFFFF


def u64_shr(x, s):
    return 0 if s >= 64 else x >> s


# ----------------------------------------------------------------------------
# hashing (fnvhasher.go + randomnessFromBytes in sampler_mode.go)
def fnv1a32(data):
    h = 0x811C9DC5
    for b in data:
        h ^= b
        h = (h * 0x01000193) & 0xFFFFFFFF
    return h


def compute_hash(b, seed):
    # The 4 little-endian seed bytes are ALWAYS written, even when seed == 0.
    return fnv1a32(struct.pack("<I", seed & 0xFFFFFFFF) + bytes(b))


def randomness_from_bytes(b, seed):
    h32 = compute_hash(b, seed)
    hashed = h32 & BUCKET_MASK
    rprime14 = NUM_BUCKETS - 1 - hashed
    unused18 = h32 >> (32 - NUM_BUCKETS_LG2)
    mixed28 = unused18 ^ (unused18 << 10)
    rnd56 = (rprime14 << 42) | (mixed28 << 14) | hashed
    assert rnd56 < MAX_ADJ
    return rnd56


def traceid_to_randomness(tid):
    return int.from_bytes(bytes(tid[8:16]), "big") & (MAX_ADJ - 1)


# ----------------------------------------------------------------------------
# threshold / randomness encodings
HEXDIGITS = set("0123456789abcdefABCDEF")


def go_parse_hex_u64(s):
    """strconv.ParseUint(s, 16, 64) for the lengths used here (<= 14)."""
    if s == "" or any(c not in HEXDIGITS for c in s):
        return None, 'strconv.ParseUint: parsing "%s": invalid syntax' % s
    return int(s, 16), None


def tvalue_to_threshold(s):
    if len(s) > NUM_HEX:
        return ALWAYS, E_TV_SIZE
    if s == "":
        return ALWAYS, E_TV_EMPTY
    v, err = go_parse_hex_u64(s)
    if err:
        return ALWAYS, err
    return v << (4 * (NUM_HEX - len(s))), None


def rvalue_to_randomness(s):
    if len(s) != NUM_HEX:
        return 0, E_RV_SIZE
    v, err = go_parse_hex_u64(s)
    if err:
        return 0, err
    return v, None


def rvalue(r):
    return "" if r >= MAX_ADJ else format(r, "014x")


def tvalue(th):
    if th == ALWAYS:
        return "0"
    if th == NEVER:
        return ""
    return rvalue(th).rstrip("0")


def threshold_probability(th):
    return float(MAX_ADJ - th) / float(MAX_ADJ)


def should_sample(th, rnd):
    return th <= rnd


def prob_to_threshold_with_precision(fraction, precision):
    """pkg/sampling/probability.go (Frexp version). Returns (threshold, err)."""
    if precision == 0:
        precision = NUM_HEX
    if not (fraction >= MIN_PROB and fraction <= 1):   # NaN fails too
        return ALWAYS, E_PROB_RANGE
    if fraction == 1:
        return ALWAYS, None
    _, exp_f = math.frexp(fraction)
    _, exp_r = math.frexp(1 - fraction)
    # Go: expF / -hexBits (integer division truncating toward zero); both
    # exponents are <= 0 here because 0 < fraction < 1 and 0 < 1-fraction < 1.
    add_f = (-exp_f) // 4
    add_r = (-exp_r) // 4
    precision = min(NUM_HEX, max(precision + add_f, precision + add_r))
    scaled = go_round(fraction * float(MAX_ADJ)) & 0xFFFFFFFFFFFFFFFF
    threshold = (MAX_ADJ - scaled) & 0xFFFFFFFFFFFFFFFF
    shift = 4 * (NUM_HEX - precision)
    if shift != 0:
        half = u64_shl(1, shift - 1)
        threshold = (threshold + half) & 0xFFFFFFFFFFFFFFFF
        threshold = u64_shr(threshold, shift)
        threshold = u64_shl(threshold, shift)
    return threshold, None


def prob_to_threshold(fraction):
    return prob_to_threshold_with_precision(fraction, NUM_HEX)


# ----------------------------------------------------------------------------
# tracestate parsing / serialization (common.go, oteltracestate.go, w3ctracestate.go)
def _is_lc_alpha(c):
    return "a" <= c <= "z"


def _is_lc_alnum(c):
    return _is_lc_alpha(c) or "0" <= c <= "9"


def _is_key_char(c):
    return _is_lc_alnum(c) or c in "_-*/"


def _valid_w3c_key(key):
    if key == "":
        return False
    at = key.find("@")
    if at >= 0:
        tenant, system = key[:at], key[at + 1:]
        if tenant == "" or system == "":
            return False
        if not _is_lc_alnum(tenant[0]) or not _is_lc_alpha(system[0]):
            return False
        return all(_is_key_char(c) for c in tenant[1:]) and all(_is_key_char(c) for c in system[1:])
    if not _is_lc_alpha(key[0]):
        return False
    return all(_is_key_char(c) for c in key[1:])


def _nblk(c):
    o = ord(c)
    return (0x21 <= o <= 0x2B) or (0x2D <= o <= 0x3C) or (0x3E <= o <= 0x7E)


def _valchar(c):
    return ord(c) == 0x20 or _nblk(c)


def _valid_w3c_value(v):
    if len(v) == 0 or len(v) > 256:
        return False
    if not _nblk(v[-1]):
        return False
    return all(_valchar(c) for c in v[:-1])


def _trim_ows(s):
    return s.strip(" \t")


def _valid_w3c(inp):
    if inp == "":
        return True
    while inp != "":
        sep = inp.find(",")
        if sep < 0:
            member, inp = inp, ""
        else:
            member, inp = inp[:sep], inp[sep + 1:]
        member = _trim_ows(member)
        if member == "":
            continue
        eq = member.find("=")
        if eq < 1:
            return False
        if not _valid_w3c_key(member[:eq]) or not _valid_w3c_value(member[eq + 1:]):
            return False
    return True


def _valid_otel_value_char(c):
    return ("a" <= c <= "z") or ("A" <= c <= "Z") or ("0" <= c <= "9") or c in "._-"


def _valid_otel(inp):
    if inp == "" or inp[-1] == ";":
        return False
    while inp != "":
        sep = inp.find(";")
        if sep < 0:
            member, inp = inp, ""
        else:
            member, inp = inp[:sep], inp[sep + 1:]
        if member == "":
            return False
        colon = member.find(":")
        if colon < 1:
            return False
        key, val = member[:colon], member[colon + 1:]
        if not _is_lc_alpha(key[0]) or not all(_is_lc_alnum(c) for c in key[1:]):
            return False
        if not all(_valid_otel_value_char(c) for c in val):
            return False
    return True


def _scan(inp, max_items, trim, sep_ch, eq_ch, cb):
    """keyValueScanner.scanKeyValues; returns list of error strings."""
    errs = []
    items = 0
    while inp != "":
        items += 1
        if max_items > 0 and items >= max_items:
            return [E_TS_SIZE]       # returns immediately, earlier errors dropped
        sep = inp.find(sep_ch)
        if sep < 0:
            member, inp = inp, ""
        else:
            member, inp = inp[:sep], inp[sep + 1:]
        if trim:
            member = _trim_ows(member)
        if member == "":
            continue
        eq = member.find(eq_ch)
        if eq < 0:
            continue
        e = cb(member[:eq], member[eq + 1:])
        if e:
            errs.extend(e if isinstance(e, list) else [e])
    return errs


class OTelTS:
    def __init__(self):
        self.rnd = 0
        self.rv = ""
        self.th = ALWAYS
        self.tv = ""
        self.kvs = []

    @staticmethod
    def parse(inp):
        o = OTelTS()
        if len(inp) > 256:
            return o, [E_TS_SIZE]
        if not _valid_otel(inp):
            return o, [E_SYNTAX]

        def cb(k, v):
            if k == "rv":
                r, err = rvalue_to_randomness(v)
                if err is None:
                    o.rnd, o.rv = r, v
                else:
                    o.rnd, o.rv = 0, ""
                return err
            if k == "th":
                t, err = tvalue_to_threshold(v)
                if err is None:
                    o.th, o.tv = t, v
                else:
                    o.th, o.tv = ALWAYS, ""
                return err
            o.kvs.append((k, v))
            return None

        return o, _scan(inp, -1, False, ";", ":", cb)

    def has_rv(self):
        return self.rv != ""

    def has_tv(self):
        return self.tv != ""

    def any(self):
        return self.rv != "" or self.tv != "" or len(self.kvs) != 0

    def update_tvalue(self, th):
        if self.tv != "" and self.th > th:
            return E_INCONS_SAMPLING
        self.th = th
        self.tv = tvalue(th)
        return None

    def clear_tvalue(self):
        self.tv = ""
        self.th = 0

    def set_rvalue(self, r):
        self.rnd = r
        self.rv = rvalue(r)

    def serialize(self):
        parts = []
        if self.rv:
            parts.append("rv:" + self.rv)
        if self.tv:
            parts.append("th:" + self.tv)
        parts.extend(k + ":" + v for k, v in self.kvs)
        return ";".join(parts)

    def adjusted_count(self):
        if self.tv == "":
            return 0.0
        if self.th == NEVER:
            return 0.0
        return 1.0 / threshold_probability(self.th)


class W3CTS:
    def __init__(self):
        self.ot = OTelTS()
        self.kvs = []

    @staticmethod
    def parse(inp):
        w = W3CTS()
        if inp == "":
            return w, []
        if len(inp) > 1024:
            return w, [E_TS_SIZE]
        if not _valid_w3c(inp):
            return w, [E_SYNTAX]

        def cb(k, v):
            if len(k) > 256:
                return E_TS_SIZE
            if "@" in k:
                tenant, system = k.split("@", 1)
                if len(tenant) > 241:
                    return E_TS_SIZE
                if len(system) > 14:
                    return E_TS_SIZE
            if k == "ot":
                w.ot, errs = OTelTS.parse(v)
                return errs
            w.kvs.append((k, v))
            return None

        return w, _scan(inp, 32, True, ",", "=", cb)

    def serialize(self):
        parts = []
        if self.ot.any():
            parts.append("ot=" + self.ot.serialize())
        parts.extend(k + "=" + v for k, v in self.kvs)
        return ",".join(parts)


# ----------------------------------------------------------------------------
# Go strconv.ParseFloat(s, 64) (subset needed for "sampling.priority" strings)
_DEC_RE = re.compile(r"^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$")
_HEX_RE = re.compile(r"^([+-]?)0[xX]((?:[0-9a-fA-F_]+\.?[0-9a-fA-F_]*)|(?:\.[0-9a-fA-F_]+))[pP]([+-]?[0-9_]+)$")


def _underscore_ok(s):
    # strconv.underscoreOK (only reached for base-prefixed numbers)
    saw = "^"
    i = 0
    if len(s) >= 1 and s[0] in "+-":
        s = s[1:]
    hexp = False
    if len(s) >= 2 and s[0] == "0" and s[1].lower() in "bxo":
        i = 2
        saw = "0"
        hexp = s[1].lower() == "x"
    while i < len(s):
        c = s[i]
        if ("0" <= c <= "9") or (hexp and c.lower() in "abcdef"):
            saw = "0"
        elif c == "_":
            if saw != "0":
                return False
            saw = "_"
        else:
            if saw == "_":
                return False
            saw = "!"
        i += 1
    return saw != "_"


def go_parse_float(s):
    """Returns (value, ok).  ok=False for syntax errors and overflow (ErrRange)."""
    if s == "":
        return None, False
    body = s[1:] if s[0] in "+-" else s
    sign = -1.0 if s[0] == "-" else 1.0
    low = body.lower()
    if s[0] not in "nN":
        if low in ("inf", "infinity"):
            return sign * math.inf, True
    if s.lower() == "nan":
        return math.nan, True
    if _DEC_RE.match(s):
        v = float(s)
        if math.isinf(v):
            return v, False     # ErrRange
        return v, True
    m = _HEX_RE.match(s)
    if m and _underscore_ok(s):
        clean = s.replace("_", "")
        try:
            v = float.fromhex(clean)
        except OverflowError:
            return None, False
        return v, True
    return None, False


# ----------------------------------------------------------------------------
# sampling.priority (tracesprocessor.go parseSpanSamplingPriority)
DEFER, MUST, DONOT = "defer", "must", "donot"


def parse_span_priority(priority):
    if priority is None:
        return DEFER
    typ, val = priority
    if typ == "int":
        v = int(val)
        return DONOT if v == 0 else (MUST if v > 0 else DEFER)
    if typ == "double":
        v = float(val)
        return DONOT if v == 0.0 else (MUST if v > 0.0 else DEFER)
    if typ == "string":
        v, ok = go_parse_float(val)
        if not ok:
            return DEFER
        return DONOT if v == 0.0 else (MUST if v > 0.0 else DEFER)
    return DEFER


# ----------------------------------------------------------------------------
# sampler construction (makeSampler)
class Sampler:
    pass


def make_sampler(mode, percentage, seed, precision, is_logs=False,
                 attribute_source="traceID", from_attribute=""):
    pct = f32(float(percentage))
    if pct > 100:
        pct = 100.0
    if mode in ("", None):
        # defaultMode == HashSeed, so the unset mode always selects hash_seed
        mode = "hash_seed"
    s = Sampler()
    s.seed = seed & 0xFFFFFFFF
    s.precision = precision
    s.logs_traceid = (attribute_source == "traceID")
    s.logs_attr = from_attribute or ""
    if pct == 0:
        s.kind = "never"
        return s
    ratio = float(pct) / 100.0
    if ratio < MIN_PROB:
        ratio = MIN_PROB
    if mode == "equalizing":
        s.kind = "equalizing"
        s.threshold, _ = prob_to_threshold_with_precision(ratio, precision)
    elif mode == "proportional":
        s.kind = "proportional"
        s.ratio = ratio
    else:
        scaled = int(f32(pct * f32(163.84)))     # float32 multiply, truncate
        if scaled == 0:
            s.kind = "never"
            return s
        s.kind = "hash_seed"
        reject = NUM_BUCKETS - scaled
        s.threshold = reject << 42
    return s


def sampler_decide(s, carrier_threshold):
    """carrier_threshold: (threshold, has)"""
    if s.kind == "never":
        return NEVER
    if s.kind in ("hash_seed",):
        return s.threshold
    if s.kind == "equalizing":
        tv, has = carrier_threshold
        if has and s.threshold < tv:
            return tv
        return s.threshold
    # proportional
    tv, has = carrier_threshold
    incoming = threshold_probability(tv) if has else 1.0
    th, err = prob_to_threshold_with_precision(incoming * s.ratio, s.precision)
    if err == E_PROB_RANGE:
        return NEVER
    return th


# ----------------------------------------------------------------------------
# traces
def _randomness_from_span(s, tid, raw_ts):
    """returns (rnd, missing, carrier|None, errors)"""
    tid = bytes(tid)
    empty = not any(tid)
    w, errs = W3CTS.parse(raw_ts)
    if s.kind == "never":
        return ALL_PROB_RND, False, w, errs
    if s.kind == "hash_seed":
        missing = empty
        rnd = ALL_PROB_RND if empty else randomness_from_bytes(tid, s.seed)
        if errs:
            return rnd, missing, None, errs
        if w.ot.has_rv():
            return rnd, missing, None, [E_RND_IN_USE]
        if w.ot.has_tv():
            return rnd, missing, None, [E_TH_IN_USE]
        w.ot.set_rvalue(rnd)          # also when randomness is missing (-> ffffffffffffff)
        return rnd, missing, w, []
    # equalizing / proportional
    if errs:
        return ALL_PROB_RND, True, None, errs
    if w.ot.has_rv():
        return w.ot.rnd, False, w, []
    if not empty:
        return traceid_to_randomness(tid), False, w, []
    return ALL_PROB_RND, True, w, []


def _consistency_check(rnd, missing, carrier, th_getter, clear):
    if missing:
        return E_MISSING_RND
    if carrier is None:
        return None
    tv, has = th_getter()
    if has and not should_sample(tv, rnd):
        clear()
        return E_INCONS_ARRIVING
    return None


def decide_trace_full(mode, percentage, seed, precision, fail_closed, trace_id,
                      tracestate, priority=None):
    if isinstance(trace_id, str):
        trace_id = bytes.fromhex(trace_id)
    s = make_sampler(mode, percentage, seed, precision)
    rnd, missing, carrier, errs = _randomness_from_span(s, trace_id, tracestate or "")
    errors = list(errs)
    if not errors:
        e = _consistency_check(
            rnd, missing, carrier,
            (lambda: (carrier.ot.th, carrier.ot.has_tv())) if carrier else None,
            (lambda: carrier.ot.clear_tvalue()) if carrier else None)
        if e:
            errors.append(e)
    if errors:
        threshold = NEVER if fail_closed else ALWAYS
    else:
        threshold = sampler_decide(s, (carrier.ot.th, carrier.ot.has_tv()))
    prio = parse_span_priority(priority)
    if prio == DONOT:
        threshold = NEVER
    elif prio == MUST:
        threshold = ALWAYS
    sampled = should_sample(threshold, rnd)
    out = None
    update_err = None
    if sampled:
        if carrier is not None:
            update_err = carrier.ot.update_tvalue(threshold)
            out = carrier.serialize()
        else:
            out = tracestate or ""
    return {"sampled": sampled, "tracestate": out, "errors": errors,
            "update_error": update_err, "threshold": threshold, "randomness": rnd}


def decide_trace(mode, percentage, seed, precision, fail_closed, trace_id,
                 tracestate, priority=None):
    r = decide_trace_full(mode, percentage, seed, precision, fail_closed,
                          trace_id, tracestate, priority)
    return r["sampled"], r["tracestate"]


# ----------------------------------------------------------------------------
# logs (logsprocessor.go)
def es6_number(f):
    """pcommon float64AsString (ES6 Number-to-String, as encoding/json).
    Approximate port: shortest round-trip digits, 'f' format for
    1e-6 <= |f| < 1e21, otherwise exponent form like 1e+21 / 1e-07."""
    if math.isinf(f) or math.isnan(f):
        return "json: unsupported value: " + ("NaN" if math.isnan(f) else ("+Inf" if f > 0 else "-Inf"))
    if f == 0:
        return "0"
    a = abs(f)
    r = repr(f)
    if 1e-6 <= a < 1e21:
        if "e" in r:
            # expand shortest digits without exponent
            from decimal import Decimal
            r = format(Decimal(r), "f")
        if r.endswith(".0"):
            r = r[:-2]
        return r
    mant, ex = ("%r" % f).split("e") if "e" in r else (r, "0")
    ex = int(ex)
    if mant.endswith(".0"):
        mant = mant[:-2]
    return "%se%s%d" % (mant, "+" if ex >= 0 else "-", abs(ex))


def value_bytes(attr):
    typ, val = attr
    if typ == "bytes":
        return bytes.fromhex(val)
    if typ == "str":
        return val.encode()
    if typ == "int":
        return str(int(val)).encode()
    if typ == "bool":
        return ("true" if val else "false").encode()
    if typ == "double":
        return es6_number(float(val)).encode()
    raise ValueError("unsupported attribute type " + typ)


def decide_log(cfg, trace_id, attrs):
    """cfg keys: mode, percentage, seed, precision, fail_closed,
    attribute_source ('' | 'traceID' | 'record'), from_attribute, sampling_priority.
    attrs: {name: (type, value)}; returns dict(sampled, attrs, errors)."""
    if isinstance(trace_id, str):
        trace_id = bytes.fromhex(trace_id)
    attrs = dict(attrs)
    mode = cfg.get("mode", "")
    src = cfg.get("attribute_source", "traceID")
    s = make_sampler(mode, cfg.get("percentage", 0), cfg.get("seed", 0),
                     cfg.get("precision", 0), True, src, cfg.get("from_attribute", ""))
    empty = not any(trace_id)

    # newLogRecordCarrier
    class RC:
        pass
    rc = RC()
    rc.tv, rc.th, rc.rv, rc.rnd = "", ALWAYS, "", 0
    perrs = []
    a = attrs.get("sampling.threshold")
    if a and a[0] == "str" and a[1] != "":
        t, e = tvalue_to_threshold(a[1])
        if e:
            perrs.append(e)
        else:
            rc.tv, rc.th = a[1], t
    a = attrs.get("sampling.randomness")
    if a and a[0] == "str" and a[1] != "":
        r, e = rvalue_to_randomness(a[1])
        if e:
            perrs.append(e)
        else:
            rc.rv, rc.rnd = a[1], r

    def set_rnd(r):
        rc.rnd, rc.rv = r, rvalue(r)
        attrs["sampling.randomness"] = ("str", rvalue(r))

    carrier = rc
    errors = []
    if s.kind == "never":
        rnd, missing = ALL_PROB_RND, False
        errors = perrs
    elif s.kind == "hash_seed":
        rnd, missing = ALL_PROB_RND, True
        if s.logs_traceid and not empty:
            rnd, missing = randomness_from_bytes(trace_id, s.seed), False
        if missing and s.logs_attr:
            av = attrs.get(s.logs_attr)
            if av is not None:
                by = value_bytes(av)
                if len(by) > 0:
                    rnd, missing = randomness_from_bytes(by, s.seed), False
        if perrs:
            carrier, errors = None, perrs
        elif rc.rv:
            carrier, errors = None, [E_RND_IN_USE]
        elif rc.tv:
            carrier, errors = None, [E_TH_IN_USE]
        elif not missing:
            set_rnd(rnd)
    else:
        rnd, missing = ALL_PROB_RND, True
        if perrs:
            carrier, errors = None, perrs
        elif rc.rv:
            rnd, missing = rc.rnd, False
        elif not empty:
            rnd, missing = traceid_to_randomness(trace_id), False

    def clear():
        rc.th, rc.tv = NEVER, ""
        attrs.pop("sampling.threshold", None)

    if not errors:
        e = _consistency_check(rnd, missing, carrier,
                               lambda: (rc.th, rc.tv != ""), clear)
        if e:
            errors.append(e)
    if errors:
        threshold = NEVER if cfg.get("fail_closed", False) else ALWAYS
    else:
        threshold = sampler_decide(s, (rc.th, rc.tv != ""))

    prio_name = cfg.get("sampling_priority", "")
    if prio_name:
        pv = attrs.get(prio_name)
        if pv is not None:
            min_prob = 0.0
            if pv[0] == "double":
                min_prob = float(pv[1]) / 100.0
            elif pv[0] == "int":
                min_prob = float(int(pv[1])) / 100.0
            if min_prob != 0:
                th, e = prob_to_threshold_with_precision(min_prob, s.precision)
                if e is None:
                    threshold = th

    sampled = should_sample(threshold, rnd)
    update_err = None
    if sampled and carrier is not None:
        if rc.tv != "" and threshold < rc.th:
            update_err = E_INCONS_SAMPLING
        else:
            attrs["sampling.threshold"] = ("str", tvalue(threshold))
    return {"sampled": sampled, "attrs": attrs if sampled else None,
            "errors": errors, "update_error": update_err}


# ----------------------------------------------------------------------------
# config validation (config.go Validate)
def go_fmt_f(x):
    if math.isinf(x):
        return "+Inf" if x > 0 else "-Inf"
    if math.isnan(x):
        return "NaN"
    return "%f" % x


def validate_config(percentage, precision, attribute_source=""):
    pct = f32(float(percentage))
    if math.isinf(pct) or math.isnan(pct):
        return "sampling rate is invalid: %s%%" % go_fmt_f(pct)
    ratio = pct / 100.0
    if ratio < 0:
        return "sampling rate is negative: %s%%" % go_fmt_f(pct)
    if ratio != 0 and ratio < MIN_PROB:
        return "sampling rate is too small: %g%%" % pct      # Go %g of float32 (approx)
    if attribute_source not in ("", "traceID", "record"):
        return "invalid attribute source: %s. Expected: traceID or record" % attribute_source
    if precision == 0:
        return "invalid sampling precision: 0"
    if precision > NUM_HEX:
        return "sampling precision is too great, should be <= 14: %d" % precision
    return None


# ----------------------------------------------------------------------------
# self test
def _prio(v):
    return None if v is None else (v["type"], v["value"])


def _run(path):
    with open(path) as f:
        data = json.load(f)
    counts = {}
    failures = []

    def check(section, ok, info):
        p, t = counts.get(section, (0, 0))
        counts[section] = (p + (1 if ok else 0), t + 1)
        if not ok:
            failures.append((section, info))

    def pct(d):
        return float.fromhex(d["sampling_percentage_hex"])

    # --- traces
    for v in data["trace_vectors"]:
        i = v["input"]
        r = decide_trace_full(i["mode"], pct(i), i["hash_seed"], i["sampling_precision"],
                              i["fail_closed"], i["trace_id"], i["tracestate"],
                              _prio(i.get("sampling_priority")))
        e = v["expect"]
        ok = r["sampled"] == e["sampled"]
        if ok and e.get("tracestate") is not None:
            ok = r["tracestate"] == e["tracestate"]
        if ok and e.get("error_contains"):
            ok = any(e["error_contains"] in x for x in r["errors"])
        if ok and e.get("no_error"):
            ok = not r["errors"] and not r["update_error"]
        if ok and e.get("adjusted_count") is not None and r["sampled"]:
            w, _ = W3CTS.parse(r["tracestate"])
            ac = w.ot.adjusted_count()
            want = e["adjusted_count"]
            eps = e.get("adjusted_count_rel_eps", 1e-3)
            ok = abs(ac - want) <= eps * abs(want)
        sec = "trace_vectors" if not v["id"].startswith("Derived/") else "trace_vectors (derived-only)"
        check(sec, ok, (v["id"], r, e))
        d = v.get("derived")
        if d is not None:
            check("trace_vectors .derived tracestate", r["tracestate"] == d.get("tracestate"),
                  (v["id"], r["tracestate"], d))

    # --- logs
    def attrs_in(m):
        return {k: (a["type"], a["value"]) for k, a in m.items()}

    for v in data.get("log_vectors", []):
        i = v["input"]
        cfg = dict(i["config"])
        cfg["percentage"] = pct(cfg)
        r = decide_log(cfg, i["trace_id"], attrs_in(i["attributes"]))
        e = v["expect"]
        ok = r["sampled"] == e["sampled"]
        if ok and e.get("attributes") is not None:
            got = {k: {"type": t, "value": val} for k, (t, val) in r["attrs"].items()}
            ok = got == e["attributes"]
        if ok and e.get("error_contains"):
            errs = r["errors"] + ([r["update_error"]] if r["update_error"] else [])
            ok = any(e["error_contains"] in x for x in errs)
        check("log_vectors", ok, (v["id"], r, e))

    for v in data.get("log_batch_vectors", []):
        cfg = dict(v["config"])
        cfg["percentage"] = pct(cfg)
        n = 0
        for rec in data["log_batch_records"][v["records_ref"]]:
            n += decide_log(cfg, rec["trace_id"], attrs_in(rec["attributes"]))["sampled"]
        check("log_batch_vectors", n == v["expect"]["received"], (v["id"], n))

    # --- conversions
    conv = data.get("conversions", {})
    for v in conv.get("probability_to_threshold", []):
        th, err = prob_to_threshold_with_precision(float.fromhex(v["probability_hex"]), v["precision"])
        if v.get("error"):
            ok = err is not None and v["error"] in err
        else:
            ok = err is None and tvalue(th) == v["tvalue"]
        check("probability_to_threshold", ok, (v, tvalue(th), err))
    for v in conv.get("hash_seed_threshold", []):
        s = make_sampler("hash_seed", pct(v), 1, 4)
        got = "never" if s.kind == "never" else tvalue(s.threshold)
        check("hash_seed_threshold", got == v["tvalue"], (v, got))
    for v in conv.get("hash", []):
        h = compute_hash(bytes.fromhex(v["bytes_hex"]), v["seed"])
        ok = True
        if "hash32" in v:
            ok = h == int(v["hash32"], 16)
        if ok and "bucket" in v:
            ok = (h & BUCKET_MASK) == int(v["bucket"], 16)
        check("hash", ok, (v, hex(h)))
    for v in conv.get("randomness_from_bytes", []):
        r = randomness_from_bytes(bytes.fromhex(v["bytes_hex"]), v["seed"])
        check("randomness_from_bytes", rvalue(r) == v["rvalue"], (v, rvalue(r)))
    for v in conv.get("traceid_to_randomness", []):
        r = traceid_to_randomness(bytes.fromhex(v["trace_id"]))
        check("traceid_to_randomness", rvalue(r) == v["rvalue"], (v, rvalue(r)))
    for v in conv.get("tvalue_threshold", []):
        th, err = tvalue_to_threshold(v["tvalue"])
        ok = err is None
        if ok and "probability" in v:
            ok = threshold_probability(th) == v["probability"]
        if ok and "rvalue" in v:
            r, e2 = rvalue_to_randomness(v["rvalue"])
            ok = e2 is None and should_sample(th, r) == v["should_sample"]
        if ok and "trace_id" in v:
            ok = should_sample(th, traceid_to_randomness(bytes.fromhex(v["trace_id"]))) == v["should_sample"]
        check("tvalue_threshold", ok, v)
    for v in conv.get("otel_tracestate_parse", []):
        o, errs = OTelTS.parse(v["input"])
        ok = (o.rv == v["rv"] and o.tv == v["th"] and
              [k + ":" + val for k, val in o.kvs] == v["extra"])
        if v.get("error"):
            ok = ok and any(v["error"] in e for e in errs)
        else:
            ok = ok and not errs
            if ok:   # upstream: Serialize then re-parse must be identical
                o2, e2 = OTelTS.parse(o.serialize()) if o.serialize() else (OTelTS(), [])
                ok = not e2 and (o2.rv, o2.tv, o2.th, o2.kvs) == (o.rv, o.tv, o.th, o.kvs)
        if ok and "serialized" in v:
            ok = o.serialize() == v["serialized"]
        check("otel_tracestate_parse", ok, (v, o.rv, o.tv, o.kvs, errs))
    for v in conv.get("otel_update_tvalue", []):
        o = OTelTS()
        if v["input"]:
            o, _ = OTelTS.parse(v["input"])
        ok = o.adjusted_count() == v["adjusted_count_in"]
        th, _ = prob_to_threshold(float.fromhex(v["probability_hex"]))
        e = o.update_tvalue(th)
        ok = ok and ((e or None) == (v.get("error") or None))
        ok = ok and o.serialize() == v["output"]
        ok = ok and o.adjusted_count() == v["adjusted_count_out"]
        check("otel_update_tvalue", ok, (v, o.serialize(), e))
    for v in conv.get("otel_ops", []):
        o, errs = OTelTS.parse(v["input"])
        for op in v["ops"]:
            if op[0] == "update_th":
                o.update_tvalue(tvalue_to_threshold(op[1])[0])
            elif op[0] == "set_rv":
                o.set_rvalue(rvalue_to_randomness(op[1])[0])
            elif op[0] == "clear_th":
                o.clear_tvalue()
            elif op[0] == "clear_rv":
                o.rv, o.rnd = "", 0
        check("otel_ops", o.serialize() == v["output"], (v, o.serialize()))
    for v in conv.get("w3c_tracestate_parse", []):
        w, errs = W3CTS.parse(v["input"])
        ok = w.ot.rv == v["rv"] and w.ot.tv == v["th"]
        if v.get("extra") is not None:
            ok = ok and dict(w.kvs) == v["extra"]
        if v.get("error"):
            ok = ok and any(v["error"] in e for e in errs)
        else:
            ok = ok and not errs
            if ok:
                w2, e2 = W3CTS.parse(w.serialize())
                ok = not e2 and w2.serialize() == w.serialize()
            if ok and "otel_extra" in v:
                ok = [k + ":" + x for k, x in w.ot.kvs] == v["otel_extra"]
        if ok and "serialized" in v:
            ok = w.serialize() == v["serialized"]
        sec = "w3c_tracestate_parse" + (" (derived-only)" if v["source"].startswith("derived") else "")
        check(sec, ok, (v, w.ot.rv, w.ot.tv, w.kvs, errs))
    for v in conv.get("span_priority_parse", []):
        got = parse_span_priority(_prio(v["attribute"]))
        sec = "span_priority_parse" + (" (derived-only)" if v["source"].startswith("derived") else "")
        check(sec, got == v["expect"], (v, got))
    for v in conv.get("config_validation", []):
        got = validate_config(pct(v), v["sampling_precision"], v.get("attribute_source", ""))
        if v["error_contains"] is None:
            ok = got is None
        else:
            ok = got is not None and v["error_contains"] in got
        sec = "config_validation" + (" (derived-only)" if v["source"].startswith("derived") else "")
        check(sec, ok, (v, got))

    total_p = sum(p for p, _ in counts.values())
    total_t = sum(t for _, t in counts.values())
    for k in sorted(counts):
        print("%-40s %d/%d" % (k, counts[k][0], counts[k][1]))
    print("TOTAL %d/%d passed" % (total_p, total_t))
    for f_ in failures[:40]:
        print("FAIL", f_)
    return 0 if not failures else 1


if __name__ == "__main__":
    p = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "probabilistic_vectors.json")
    sys.exit(_run(p))
