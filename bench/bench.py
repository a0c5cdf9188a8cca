#!/usr/bin/env python3
"""Portcullis on-demand benchmarks (never run by the test suite).

  bench/run [media] [sip] [mem] [--quick]        (default: all three)

media  Relay CPU per bridged packet and concurrent G.711 calls one core
       sustains, plain inside <-> SDES-SRTP outside, for Portcullis's relay
       (bench/media_relay) and rtpengine (userspace, one worker thread) in the
       same run, AES_CM_128_HMAC_SHA1_80 and AEAD_AES_128_GCM; the floor
       (bench/media_floor: same sockets and load, recvmmsg/sendmmsg, no
       crypto, no checks) at 500 calls and at the relay's maximum, with the
       relay's ratio to it; then Portcullis with each count of
       --media-workers (default 1,2: media worker threads, issue 12) in the
       same run. --media-calls N: relay, floors and rtpengine at N only.
sip    Calls/s sustained for 30 s with zero failed calls: SIPp UDP (inside)
       -> proxy -> TLS -> SIPp trunk; the gateway (SDP rewrite, SRTP keys)
       and Kamailio (stateful TLS proxy) one after the other.
mem    Gateway RSS in a churn soak (150 calls/s, 6 s hold, 5 min, default
       timers: finished transactions linger up to 32 s) per concurrent call,
       then per established idle call at 1,000 and 10,000 calls (or the most
       the descriptor limit allows: 4 relay sockets a call).
identity  RFC 8224 Identity: signatures (through the key holder) and
       verifications (cached certificate) per second per core
       (bench/stir_rate); call set-up time (INVITE -> 200 at the caller)
       with Identity off, signing, and signing + verifying, at one rate in
       the same run (mean, p50, p99); then the signalling search of `sip`
       with Identity off and on.
ops    Metrics scraping, call records and media-quality tracking off vs on
       in the same run: relay CPU per packet at a fixed media load and
       gateway CPU per call at a fixed call rate (target: within 5 %).
cluster  The `sip` search with the gateway alone, then with a `cluster`
       group on a redis-server of the bench's own (CPU 1): both rates and
       the ratio (target within 20 %), Redis's CPU seconds and commands per
       call, and Redis commands while media flows on held calls (none are
       expected: media state is written on signalling events only).
ports  The `sip` search with the embedded default relay port ranges
       (20000-28999 / 30000-38999, max_calls 4000): whether the search
       ended on relay ports (media_ports_exhausted) or on CPU.

The system under test is pinned to CPU 0, every load generator and this
driver to CPU 1. With W media workers the relay gets CPUs 0..W-1 and the
generator CPU W, or the last CPU when the machine has no more than W (then
it shares a CPU with a worker, and the W-worker figures understate them:
the report says so). Results go to bench/results/<UTC time>.txt. Every load
loop is bounded in count and time; only processes started here are stopped,
by PID."""
import argparse
import atexit
import datetime
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time

import bench_cluster

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "bench")
CERTS = os.path.join(ROOT, "certs", "dev")

GEN_PLAIN, GEN_SRTP = 32100, 32300  # media_load's sockets (below the ephemeral range)
MEDIA_SECONDS = 8
MEDIA_P99_MAX_MS = 10.0  # a level counts as sustained only with p99 one-way latency <= this
MEDIA_MAX_CALLS = 4500   # 4 relay sockets a call; RLIMIT_NOFILE is 20,000 here
MEDIA_FIXED_PAIRS = 3    # --media-calls: floor/relay alternations, medians compared
SIP_SECONDS = 30
SIP_HOLD_MS = 1000
# The signalling parts' max_calls: unset, the bench's ranges would mean
# 5,000 calls, 20,000 relay sockets plus the connection budgets, and the
# gateway refuses to start under this container's RLIMIT_NOFILE (hard
# 20,000). 4,000 (the embedded default) fits, and is twice what 1,600
# calls/s of 1.1 s calls hold up at once.
SIP_MAX_CALLS = "max_calls = 4000; "
CLK = os.sysconf("SC_CLK_TCK")

started = []
out_lines = []


def log(msg=""):
    print(msg, flush=True)
    out_lines.append(msg)


# --- processes -----------------------------------------------------------------

def start(args, **kw):
    p = subprocess.Popen(args, **kw)
    started.append(p)
    return p


def stop(p, sig=signal.SIGTERM, wait=5.0):
    """Stops one process we started, by PID: signal, bounded wait, then SIGKILL."""
    if p.poll() is None:
        try:
            os.kill(p.pid, sig)
        except ProcessLookupError:
            pass
        try:
            p.wait(wait)
        except subprocess.TimeoutExpired:
            os.kill(p.pid, signal.SIGKILL)
            p.wait(5)
    if p in started:
        started.remove(p)


@atexit.register
def stop_all():
    for p in list(started):
        stop(p)


def descendants(pid):
    out, todo = [], [pid]
    while todo:
        q = todo.pop()
        out.append(q)
        try:
            for t in os.listdir("/proc/%d/task" % q):
                with open("/proc/%d/task/%s/children" % (q, t)) as f:
                    todo += [int(x) for x in f.read().split()]
        except OSError:
            pass
    return out


def cpu_s(pid, tree=False):
    """utime + stime of a process (all its threads; with tree, its descendants too)."""
    total = 0
    for q in (descendants(pid) if tree else [pid]):
        try:
            with open("/proc/%d/stat" % q) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except OSError:
            pass
    return total / CLK


def status_kib(pid, key):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return -1


def kv(line):
    return {k: v for k, v in re.findall(r"(\w+)=(\S+)", line)}


def listening(proto, port):
    out = subprocess.run(["ss", "-ln", "-u" if proto == "udp" else "-t"], capture_output=True, text=True).stdout
    return any(l.split()[3].endswith(":%d" % port) for l in out.splitlines()[1:] if len(l.split()) > 3)


def wait_for(cond, seconds, what):
    end = time.time() + seconds
    while time.time() < end:
        if cond():
            return
        time.sleep(0.05)
    raise RuntimeError("timed out waiting for " + what)


def wait_test_suite_idle():
    """The gateway and the tests share ports: never run while tests/run does
    (unless BENCH_OWN_NETNS=1 says this runs in a network namespace of its
    own, `unshare -n`, where no port is shared)."""
    if os.environ.get("BENCH_OWN_NETNS") == "1":
        return
    for i in range(120):  # at most 10 minutes
        r = subprocess.run(["pgrep", "-f", "tests/run"], capture_output=True, text=True)
        if not r.stdout.strip():
            return
        if i % 12 == 0:
            print("test suite running (pid %s); waiting" % " ".join(r.stdout.split()), flush=True)
        time.sleep(5)
    raise RuntimeError("the test suite is still running after 10 minutes")


# --- media ---------------------------------------------------------------------

SYSCALL_EVENTS = ["raw_syscalls:sys_enter", "syscalls:sys_enter_recvmmsg", "syscalls:sys_enter_sendmmsg",
                  "syscalls:sys_enter_epoll_wait", "syscalls:sys_enter_io_uring_enter"]


def perf_syscalls_start(a, pid):
    """perf stat counting the system calls of pid (None without perf or tracepoints)."""
    if shutil.which("perf") is None:
        return None
    path = os.path.join(a.work, "perf-%d.csv" % pid)
    return start(["perf", "stat", "-x", ",", "-o", path, "-e", ",".join(SYSCALL_EVENTS), "-p", str(pid)],
                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL), path


def perf_syscalls_stop(p):
    """{event: count} from a perf stat started by perf_syscalls_start."""
    if p is None:
        return {}
    proc, path = p
    stop(proc, sig=signal.SIGINT)
    counts = {}
    try:
        with open(path) as f:
            for line in f:
                parts = line.strip().split(",")
                if len(parts) > 2 and parts[0].isdigit():
                    counts[parts[2].split(":")[-1]] = int(parts[0])
    except OSError:
        pass
    return counts


def media_cpus(workers):
    """(the relay's taskset CPU list, the generator's CPU, whether they share one)."""
    ncpu = os.cpu_count() or 1
    relay = "0" if workers == 1 else "0-%d" % (min(workers, ncpu) - 1)
    gen = workers if workers < ncpu else ncpu - 1
    return relay, str(gen), workers >= ncpu


def media_step(a, kind, suite, n, seconds, relay_args=(), workers=1, count_syscalls=False):
    wait_test_suite_idle()
    table = os.path.join(a.work, "table-%s.txt" % kind)
    relay_cpus, gen_cpu, _ = media_cpus(workers)
    if kind in ("portcullis", "floor"):
        if kind == "portcullis":
            args = [os.path.join(a.bin, "media_relay"), "--suite", suite, "--workers", str(workers),
                    "--io", a.media_io] + list(relay_args)
        else:  # the same sockets and load, no crypto and no checks: plain RTP both ways
            args = [os.path.join(a.bin, "media_floor")] + list(relay_args)
        relay = start(["taskset", "-c", relay_cpus] + args + ["--calls", str(n), "--gen-plain", str(GEN_PLAIN),
                                                              "--gen-srtp", str(GEN_SRTP), "--table", table],
                      stdout=subprocess.PIPE, text=True)
        line = relay.stdout.readline()  # "ready ..." once all streams exist
        if not line.startswith("ready"):
            stop(relay)
            raise RuntimeError("%s did not start: %r" % (os.path.basename(args[0]), line))
        setup = kv(line)
    else:
        logf = open(os.path.join(a.work, "rtpengine.log"), "w")
        relay = start(["taskset", "-c", "0", "rtpengine", "--config-file=none", "--foreground",
                       "--interface=127.0.0.1", "--listen-ng=127.0.0.1:22222", "--port-min=10000",
                       "--port-max=31999", "--num-threads=1", "--media-num-threads=0", "--table=-1",
                       "--log-stderr", "--log-level=4", "--delete-delay=0", "--timeout=600",
                       "--pidfile=" + os.path.join(a.work, "rtpengine.pid")],
                      stdout=logf, stderr=subprocess.STDOUT)
        wait_for(lambda: listening("udp", 22222), 10, "rtpengine's ng port")
        r = subprocess.run([sys.executable, os.path.join(BENCH, "rtpengine_calls.py"), "--calls", str(n),
                            "--suite", suite, "--gen-plain", str(GEN_PLAIN), "--gen-srtp", str(GEN_SRTP),
                            "--table", table], capture_output=True, text=True, timeout=120)
        if r.returncode != 0:
            stop(relay)
            raise RuntimeError("rtpengine call setup failed: " + r.stderr[-2000:])
        setup = {"rss_after_kib": str(status_kib(relay.pid, "VmRSS"))}
    perf = perf_syscalls_start(a, relay.pid) if count_syscalls else None
    time.sleep(0.3)
    c0, t0, busy0 = cpu_s(relay.pid), time.time(), cpu0_busy()
    g = subprocess.run(["taskset", "-c", gen_cpu, os.path.join(a.bin, "media_load"), "--table", table,
                        "--plain-port", str(GEN_PLAIN), "--srtp-port", str(GEN_SRTP),
                        "--seconds", str(seconds)], capture_output=True, text=True, timeout=seconds + 60)
    wall, c1 = time.time() - t0, cpu_s(relay.pid)
    syscalls = perf_syscalls_stop(perf)
    stop(relay)
    res = kv(g.stdout)
    if kind in ("portcullis", "floor"):
        res.update(kv(relay.stdout.read()))
    if "lost" not in res:
        raise RuntimeError("media_load failed: " + g.stdout + g.stderr)
    bridged = int(res["recv_out"]) + int(res["recv_in"])
    res["relay_cpu_s"] = c1 - c0
    res["relay_util"] = (c1 - c0) / wall
    res["us_per_pkt"] = (c1 - c0) * 1e6 / max(bridged, 1)
    res["pps"] = bridged / wall
    res["setup_rss_kib"] = setup.get("rss_after_kib", "?")
    slots = n * 50 * seconds
    # The generator is the limit when it ran out of CPU or fell far behind its schedule.
    res["gen_limited"] = float(res["gen_cpu_s"]) / wall > 0.9 or float(res["gen_late_max_ms"]) > 20
    res["late_pct"] = 100.0 * int(res["gen_late_slots"]) / slots
    busy1 = cpu0_busy()
    res["core0_other"] = (busy1[0] - busy0[0]) / max(busy1[1] - busy0[1], 1) - res["relay_util"]
    if syscalls:
        res["syscalls"] = {k: v / max(bridged, 1) for k, v in syscalls.items()}
    res["pass"] = (int(res["lost"]) == 0 and int(res["auth_fail"]) == 0 and int(res.get("auth_failures", 0)) == 0
                   and float(res["lat_p99_ms"]) <= MEDIA_P99_MAX_MS)
    log("  %-13s %-24s calls=%5d %s  relay_cpu=%5.1f%%  us/pkt=%5.2f  lost=%d p50=%sms p99=%sms max=%sms  gen_cpu=%s%s" % (
        kind if workers == 1 else "%s-w%d" % (kind, workers), suite, n, "PASS" if res["pass"] else "FAIL",
        100 * res["relay_util"], res["us_per_pkt"],
        int(res["lost"]), res["lat_p50_ms"], res["lat_p99_ms"], res["lat_max_ms"],
        res["gen_cpu_s"], " (generator-limited)" if res["gen_limited"] else "") +
        ("  [other load on CPU 0: %.0f%%]" % (100 * res["core0_other"]) if res["core0_other"] > 0.05 else ""))
    return res


def cpu0_busy(cpu=0):
    """(busy, total) jiffies of one CPU from /proc/stat (busy = all but idle and iowait)."""
    with open("/proc/stat") as f:
        for line in f:
            if line.startswith("cpu%d " % cpu):
                v = [int(x) for x in line.split()[1:]]
                return sum(v) - v[3] - v[4], sum(v)
    return 0, 1


def round50(x):
    return max(50, int(round(x / 50.0)) * 50)


def media_search(a, kind, suite, workers=1):
    """Highest calls with zero loss and p99 <= MEDIA_P99_MAX_MS: probe at 500,
    estimate from the relay's CPU share (of its `workers` CPUs), then
    bisect; at most 6 steps."""
    steps = {}
    probe = 500
    r = steps[probe] = media_step(a, kind, suite, probe, a.media_seconds, workers=workers)
    lo, hi = (probe, None) if r["pass"] else (0, probe)
    n = round50(probe * 0.85 * workers / max(r["relay_util"], 0.05))
    n = min(n, MEDIA_MAX_CALLS)
    if r["pass"] and n <= lo:
        n = lo + 50
    elif not r["pass"] and n >= hi:
        n = round50(hi * 0.8)
    limited = False
    for _ in range(5):
        if hi is not None and (n >= hi or n <= lo):
            n = round50((lo + hi) / 2)
        if n in steps or n > MEDIA_MAX_CALLS or (hi is not None and hi - lo <= max(50, 0.05 * lo)):
            break
        r = steps[n] = media_step(a, kind, suite, n, a.media_seconds, workers=workers)
        if r["pass"]:
            lo = max(lo, n)
            n = round50(n * 1.15) if hi is None else round50((lo + hi) / 2)
        else:
            if r["gen_limited"]:
                limited = True  # the generator, not the relay, may have failed: stop here
                hi = n
                break
            hi = n if hi is None else min(hi, n)
            n = round50((lo + hi) / 2)
    return lo, hi, limited, steps


RTPENGINE_TARGET = 2.5  # issue 12: calls per core against rtpengine's userspace relay
FLOOR_TARGET = 1.5  # issue 12: the relay with SRTP within 1.5x of the floor's CPU per packet
FLOOR_NAME = "NULL (floor, no crypto)"


def floor_step(a, n, cache):
    """The floor (bench/media_floor) at n calls, measured once per level per run."""
    if n not in cache:
        cache[n] = media_step(a, "floor", FLOOR_NAME, n, a.media_seconds)
    return cache[n]


def floor_line(suite, n, relay, floor):
    ratio = relay["us_per_pkt"] / max(floor["us_per_pkt"], 1e-9)
    return "  FLOOR %-24s at %5d calls: portcullis %.2f us/pkt, floor %.2f us/pkt, ratio %.2f (target <= %.1f: %s)" % (
        suite, n, relay["us_per_pkt"], floor["us_per_pkt"], ratio, FLOOR_TARGET,
        "met" if ratio <= FLOOR_TARGET else "NOT met")


def run_media_fixed(a, suites):
    """--media-calls N: no search; the relay and the floor alternate at N
    calls, MEDIA_FIXED_PAIRS times each, and their medians are compared (a
    quick before/after of the packet path on a shared machine)."""
    have_rtpengine = shutil.which("rtpengine") is not None
    log("== media at a fixed level: %d calls, portcullis (media.io = %s), the floor, the io_uring floor%s "
        "alternating %d times, %d s each" % (a.media_calls, a.media_io, " and rtpengine" if have_rtpengine else "",
                                             MEDIA_FIXED_PAIRS, a.media_seconds))
    summary = []
    for suite in suites:
        us = {"portcullis": [], "floor": [], "floor-uring": []}
        if have_rtpengine:
            us["rtpengine"] = []
        for _ in range(MEDIA_FIXED_PAIRS):
            us["floor"].append(media_step(a, "floor", FLOOR_NAME, a.media_calls, a.media_seconds)["us_per_pkt"])
            us["portcullis"].append(media_step(a, "portcullis", suite, a.media_calls, a.media_seconds)["us_per_pkt"])
            us["floor-uring"].append(media_step(a, "floor", FLOOR_NAME, a.media_calls, a.media_seconds,
                                                relay_args=["--io", "uring"])["us_per_pkt"])
            if have_rtpengine:
                us["rtpengine"].append(media_step(a, "rtpengine", suite, a.media_calls, a.media_seconds)["us_per_pkt"])
        med = {k: {"us_per_pkt": statistics.median(v)} for k, v in us.items()}
        # System calls per packet, counted in one more step each (perf's
        # tracepoints cost a little CPU, so these steps are not in the medians).
        for kind, name in (("floor", FLOOR_NAME), ("portcullis", suite)):
            sc = media_step(a, kind, name, a.media_calls, a.media_seconds, count_syscalls=True).get("syscalls")
            if sc:
                summary.append("  syscalls per packet %-10s all=%.2f recvmmsg=%.2f sendmmsg=%.2f epoll_wait=%.3f "
                               "io_uring_enter=%.3f" % (
                    kind, sc.get("sys_enter", 0), sc.get("sys_enter_recvmmsg", 0),
                    sc.get("sys_enter_sendmmsg", 0), sc.get("sys_enter_epoll_wait", 0),
                    sc.get("sys_enter_io_uring_enter", 0)))
        summary.append("  us/pkt portcullis %s floor %s io_uring floor %s" % (
            ["%.2f" % x for x in us["portcullis"]], ["%.2f" % x for x in us["floor"]],
            ["%.2f" % x for x in us["floor-uring"]]))
        summary.append(floor_line(suite, a.media_calls, med["portcullis"], med["floor"]) + " (medians)")
        summary.append("  io_uring floor %.2f us/pkt (median): what the same forwarding costs through io_uring" %
                       med["floor-uring"]["us_per_pkt"])
        if have_rtpengine:
            # At one level below both saturation points, CPU per packet is
            # the cost of a call per core: its ratio estimates the ratio of
            # calls per core without a search (whose levels a noisy machine
            # moves by hundreds of calls).
            ratios = [r / p for r, p in zip(us["rtpengine"], us["portcullis"])]
            summary.append("  us/pkt rtpengine %s" % ["%.2f" % x for x in us["rtpengine"]])
            summary.append("  RATIO %-24s CPU per packet rtpengine/portcullis at %d calls = %.2f (median of pairs %s; "
                           "target >= %.1f: %s)" % (
                               suite, a.media_calls, statistics.median(ratios), ["%.2f" % x for x in ratios],
                               RTPENGINE_TARGET, "met" if statistics.median(ratios) >= RTPENGINE_TARGET else "NOT met"))
    log("-- media summary")
    for line in summary:
        log(line)


def run_media(a):
    log("== media: G.711 50 pps each way, plain inside <-> SDES-SRTP outside; relay on CPU 0, "
        "generator on CPU 1; %d s per level; sustained = 0 lost, 0 auth failures, p99 <= %.0f ms" % (
            a.media_seconds, MEDIA_P99_MAX_MS))
    log("  floor: bench/media_floor, the same sockets and load with plain RTP both ways, no checks")
    suites = ["AES_CM_128_HMAC_SHA1_80"] if a.quick else ["AES_CM_128_HMAC_SHA1_80", "AEAD_AES_128_GCM"]
    if a.media_calls:
        return run_media_fixed(a, suites)
    have_rtpengine = shutil.which("rtpengine") is not None
    if not have_rtpengine:
        log("  rtpengine not installed: gateway numbers only")
    summary = []
    floors = {}
    first = None
    for suite in suites:
        found = {}
        for kind in (["portcullis", "rtpengine"] if have_rtpengine else ["portcullis"]):
            lo, hi, limited, steps = media_search(a, kind, suite)
            found[kind] = (lo, hi, limited, steps)
        for kind, (lo, hi, limited, steps) in list(found.items()):
            at500 = steps[500]
            best = steps.get(lo)
            # The sustained level scaled to a whole core by its CPU share:
            # a second estimate, useful where the generator limits the search.
            by_cpu = int(lo / best["relay_util"]) if best and best["relay_util"] > 0 else 0
            summary.append("  %-10s %-24s max calls/core=%s%s  by CPU share=%s  us/pkt@500=%.2f  us/pkt@max=%s  "
                           "p99@max=%s ms  RSS@500=%s KiB" % (
                               kind, suite, lo, " (generator-limited, at least)" if limited else
                               ("" if hi else " (search cap)"), by_cpu or "-", at500["us_per_pkt"],
                               "%.2f" % best["us_per_pkt"] if best else "-",
                               best["lat_p99_ms"] if best else "-", at500["setup_rss_kib"]))
            found[kind] = (lo, hi, limited, steps, by_cpu)
        p = found["portcullis"]
        summary.append(floor_line(suite, 500, p[3][500], floor_step(a, 500, floors)))
        if p[0] and p[0] != 500:
            summary.append(floor_line(suite, p[0], p[3][p[0]], floor_step(a, p[0], floors)))
        if first is None:
            first = found
        if "rtpengine" in found:
            p, r = found["portcullis"], found["rtpengine"]
            ratio = p[0] / r[0] if r[0] else float("inf")
            share_ratio = p[4] / r[4] if r[4] else float("inf")
            cpu_ratio = found["rtpengine"][3][500]["us_per_pkt"] / found["portcullis"][3][500]["us_per_pkt"]
            summary.append("  RATIO %-24s calls/core portcullis/rtpengine = %.2f (target >= %.1f: %s); "
                           "by CPU share = %.2f; CPU per packet at 500 calls rtpengine/portcullis = %.2f" % (
                               suite, ratio, RTPENGINE_TARGET, "met" if ratio >= RTPENGINE_TARGET else "NOT met",
                               share_ratio, cpu_ratio))
    summary += media_workers(a, suites[0], first["portcullis"][:4] if first else None)
    log("-- media summary")
    for s in summary:
        log(s)


def media_workers(a, suite, one=None):
    """The same search for Portcullis with each count of media workers (the
    gateway's media.workers), in this run; the lines for the summary. `one`
    is the search just made with one worker for this suite (not redone)."""
    counts = [int(x) for x in a.media_workers.split(",") if x.strip()]
    if len(counts) < 2:
        return []
    log("== media workers: %s, Portcullis with %s worker threads; %s" % (
        suite, " vs ".join(str(w) for w in counts),
        "; ".join("%d: relay on CPU %s, generator on CPU %s%s" % (
            w, media_cpus(w)[0], media_cpus(w)[1], " (shared with a worker)" if media_cpus(w)[2] else "")
            for w in counts)))
    lines, base = [], None
    for w in counts:
        if w == 1 and one is not None:
            lo, hi, limited, steps = one
        else:
            lo, hi, limited, steps = media_search(a, "portcullis", suite, workers=w)
        best = steps.get(lo)
        shared = media_cpus(w)[2]
        lines.append("  WORKERS %-2d %-24s max calls=%s%s  relay CPU@max=%s  us/pkt@500=%.2f  p99@max=%s ms%s" % (
            w, suite, lo, " (generator-limited, at least)" if limited else ("" if hi else " (search cap)"),
            "%.0f%%" % (100 * best["relay_util"]) if best else "-", steps[500]["us_per_pkt"],
            best["lat_p99_ms"] if best else "-", "  [generator shares a relay CPU]" if shared else ""))
        if base is None:
            base = lo
        elif base:
            lines.append("  WORKERS %d/%d max calls = %.2f" % (w, counts[0], lo / base))
    return lines


# --- signalling ------------------------------------------------------------------

def gateway_config(a, path, extra="", inside="", outside="", ports=((10000, 20999), (21000, 31999))):
    with open(path, "w") as f:
        f.write("""domain = "localhost";
log_level = "warning";
listeners = (
  { name = "inside-udp"; leg = "inside"; transport = "udp"; address = "127.0.0.1"; port = 5060; },
  { name = "outside-tls"; leg = "outside"; transport = "tls"; address = "127.0.0.1"; port = 5061;
    tls = { certificate = "%(c)s/gateway.crt"; key = "%(c)s/gateway.key"; ca = "%(c)s/ca.crt"; }; }
);
peers = ( { name = "trunk"; transport = "tls"; address = "127.0.0.1"; port = 5071;
  sip_domain = "trunk.portcullis.test";
  tls = { certificate = "%(c)s/gateway.crt"; key = "%(c)s/gateway.key"; ca = "%(c)s/ca.crt"; }; } );
# max_calls as extra sets it (signalling: SIP_MAX_CALLS); unset it would be
# what these ranges hold (5,500 pairs a leg: 5,000 calls).
legs = (
  { name = "inside"; media = "rtp"; rtp_address = "127.0.0.1"; rtp_ports = [ %(i0)d, %(i1)d ]; %(inside)s },
  { name = "outside"; media = "srtp"; rtp_address = "127.0.0.1"; rtp_ports = [ %(o0)d, %(o1)d ]; %(outside)s }
);
routes = (
  { from_leg = "inside"; to_leg = "outside"; peer = "trunk"; },
  { from_leg = "outside"; to_leg = "inside"; transport = "udp"; address = "127.0.0.1"; port = 5090; }
);
%(extra)s
""" % {"c": CERTS, "extra": extra, "inside": inside, "outside": outside,
       "i0": ports[0][0], "i1": ports[0][1], "o0": ports[1][0], "o1": ports[1][1]})


def kamailio_config(a):
    cfg, tls = os.path.join(a.work, "kamailio.cfg"), os.path.join(a.work, "kamailio-tls.cfg")
    with open(tls, "w") as f:
        f.write("""[server:default]
method = TLSv1.2+
verify_certificate = no
require_certificate = no
certificate = %(c)s/gateway.crt
private_key = %(c)s/gateway.key
ca_list = %(c)s/ca.crt

[client:default]
method = TLSv1.2+
verify_certificate = yes
require_certificate = yes
certificate = %(c)s/gateway.crt
private_key = %(c)s/gateway.key
ca_list = %(c)s/ca.crt
""" % {"c": CERTS})
    with open(cfg, "w") as f:
        f.write("""#!KAMAILIO
# Kamailio as a stateful TLS edge proxy: UDP inside, TLS to the trunk, for
# the signalling benchmark. No media handling (no rtpengine).
debug=1
log_stderror=yes
children=4
tcp_children=4
listen=udp:127.0.0.1:5060
listen=tls:127.0.0.1:5061
enable_tls=yes
auto_aliases=no
mpath="/usr/lib/x86_64-linux-gnu/kamailio/modules/"
loadmodule "tls.so"
loadmodule "sl.so"
loadmodule "tm.so"
loadmodule "rr.so"
loadmodule "maxfwd.so"
loadmodule "pv.so"
loadmodule "siputils.so"
loadmodule "textops.so"
modparam("tls", "config", "%s")
request_route {
    if (!mf_process_maxfwd_header("10")) { sl_send_reply("483", "Too Many Hops"); exit; }
    if (has_totag()) {
        if (loose_route()) { t_relay(); exit; }
        if (is_method("ACK")) { if (t_check_trans()) { t_relay(); } exit; }
        sl_send_reply("404", "Not here");
        exit;
    }
    if (is_method("CANCEL")) { if (t_check_trans()) { t_relay(); } exit; }
    t_check_trans();
    record_route();
    $du = "sip:127.0.0.1:5071;transport=tls";
    if (!t_relay()) { sl_reply_error(); }
    exit;
}
""" % tls)
    return cfg


def start_trunk(a, tag):
    """SIPp trunk (TCP 15072) behind a stunnel TLS server on 5071 demanding a client certificate."""
    conf = os.path.join(a.work, "stunnel-%s.conf" % tag)
    with open(conf, "w") as f:
        f.write("foreground = yes\npid =\ndebug = 3\noutput = %s/stunnel-%s.log\n[sip]\nrequireCert = yes\n"
                "accept = 127.0.0.1:5071\nconnect = 127.0.0.1:15072\ncert = %s/trunk.pem\nCAfile = %s/ca.crt\n"
                "verifyChain = yes\n" % (a.work, tag, CERTS, CERTS))
    uas = start(["sipp", "-sf", os.path.join(BENCH, "sipp", "uas.xml"), "-t", "t1", "-p", "15072",
                 "-i", "127.0.0.1", "-nostdin", "-m", "2000000", "-timeout", "1800s", "-max_socket", "1000"],
                stdout=open(os.path.join(a.work, "uas-%s.out" % tag), "w"), stderr=subprocess.STDOUT,
                cwd=a.work)
    wait_for(lambda: listening("tcp", 15072), 10, "SIPp trunk")
    tun = start(["stunnel4", conf], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for(lambda: listening("tcp", 5071), 10, "stunnel")
    return [uas, tun]


def start_proxy(a, kind, config_extra="", tag=""):
    if kind.startswith("portcullis"):
        cfg = os.path.join(a.work, "gw%s.conf" % tag)
        mode = IDENTITY_MODES[kind]
        gateway_config(a, cfg, config_extra + mode["extra"], mode["inside"], mode["outside"],
                       **({"ports": mode["ports"]} if "ports" in mode else {}))
        p = start(["taskset", "-c", "0", a.gateway, "--config", cfg],
                  stdout=open(os.path.join(a.work, "gateway%s.log" % tag), "w"), stderr=subprocess.STDOUT)
    else:
        p = start(["taskset", "-c", "0", "kamailio", "-f", kamailio_config(a), "-DD", "-E", "-m", "256", "-M", "16"],
                  stdout=open(os.path.join(a.work, "kamailio.log"), "w"), stderr=subprocess.STDOUT)
    wait_for(lambda: listening("udp", 5060) and listening("tcp", 5061), 15, kind + " listeners")
    time.sleep(0.5)
    if p.poll() is not None:
        raise RuntimeError(kind + " exited at start")
    return p


def sipp_uac(a, rate, count, hold_ms, port, extra=(), timeout=None, kind="portcullis"):
    scenario = IDENTITY_MODES.get(kind, {}).get("scenario") or os.path.join(BENCH, "sipp", "uac.xml")
    args = ["taskset", "-c", "1", "sipp", "-sf", scenario, "127.0.0.1:5060",
            "-s", "12125551234", "-t", "u1", "-p", str(port), "-i", "127.0.0.1", "-r", str(rate), "-m", str(count),
            "-d", str(hold_ms), "-nostdin", "-recv_timeout", "10000", "-max_socket", "100"] + list(extra)
    if timeout:
        args += ["-timeout", "%ds" % timeout, "-timeout_error"]
    return args


def sipp_counts(text):
    def grab(name):
        m = re.findall(r"%s\s*\|\s*\d+\s*\|\s*(\d+)" % name, text)
        return int(m[-1]) if m else -1
    return grab("Successful call"), grab("Failed call")


def sip_step(a, kind, rate, seconds):
    """One run at `rate` calls/s for `seconds` against a freshly started proxy
    and trunk (no transactions left over from the previous step)."""
    wait_test_suite_idle()
    helpers = start_trunk(a, kind)
    mode = IDENTITY_MODES.get(kind, {})
    extra = ("limits = { max_transactions = 1000000; %s};" % mode.get("limits", SIP_MAX_CALLS)
             if kind.startswith("portcullis") else "")
    proxy = start_proxy(a, kind, extra)
    note = ""
    try:
        # Warm-up: opens the TLS connection to the trunk (and fetches the
        # caller's certificate once when verifying).
        subprocess.run(sipp_uac(a, 5, 5, 0, 15090, timeout=20, kind=kind), capture_output=True, timeout=40,
                       cwd=a.work)
        count = rate * seconds
        c0 = cpu_s(proxy.pid, tree=True)
        h0 = sum(cpu_s(h.pid) for h in helpers)
        k0 = os.times()
        b0 = cpu0_busy(1)
        t0 = time.time()
        paths = mode.get("scrape")
        scraper = start_scraper(a, paths) if paths else None
        # A mode's probe (bench_cluster.py) measures around the load only:
        # called now, it returns what to call when the load has ended.
        finish = mode["probe"](a, proxy) if mode.get("probe") else None
        try:
            r = subprocess.run(sipp_uac(a, rate, count, SIP_HOLD_MS, 15090, timeout=seconds + 60, kind=kind),
                               capture_output=True, text=True, timeout=seconds + 90, cwd=a.work)
        finally:
            if scraper:
                stop(scraper)
        wall = time.time() - t0
        k1 = os.times()
        b1 = cpu0_busy(1)
        gen_busy = (b1[0] - b0[0]) / max(b1[1] - b0[1], 1)
        cpu = cpu_s(proxy.pid, tree=True) - c0
        helper_cpu = sum(cpu_s(h.pid) for h in helpers) - h0
        uac_cpu = (k1.children_user + k1.children_system) - (k0.children_user + k0.children_system)
        alive = proxy.poll() is None
        if finish:
            note = finish(wall)
    finally:
        stop(proxy)
        for h in helpers:
            stop(h)
    ok, failed = sipp_counts(r.stdout)
    # SIPp paces at the requested rate unless it falls behind; a run that took
    # much longer than count/rate + hold did not sustain the rate.
    on_time = wall <= seconds + SIP_HOLD_MS / 1000.0 + 6
    passed = r.returncode == 0 and failed == 0 and ok == count and on_time and alive
    log("  %-10s rate=%4d cps x %ds: %s  ok=%d failed=%d wall=%.1fs  proxy_cpu=%.0f%% (%.0f us/call)  "
        "generators: uac=%.0f%% trunk+stunnel=%.0f%% CPU1 busy=%.0f%%%s%s" % (
            kind, rate, seconds, "PASS" if passed else "FAIL", ok, failed, wall, 100 * cpu / wall,
            cpu * 1e6 / max(ok, 1), 100 * uac_cpu / wall, 100 * helper_cpu / wall, 100 * gen_busy,
            "" if on_time else " (rate not kept)", " (generator-limited?)" if gen_busy > 0.9 else ""))
    if note:
        log("    " + note)
    STEPS.append({"kind": kind, "rate": rate, "seconds": seconds, "passed": passed, "ok": ok, "cpu_share": cpu / wall, "gen_busy": gen_busy,
                  "us_call": cpu * 1e6 / max(ok, 1), "note": note})
    if not passed and kind.startswith("portcullis"):
        # Limits the gateway hit: transactions or calls ("refusing") and relay
        # ports ("exhausted": each call holds a port pair per leg for its
        # duration plus the 2 s quarantine).
        log_path = os.path.join(a.work, "gateway.log")
        counts = [subprocess.run(["grep", "-c", w, log_path], capture_output=True, text=True).stdout.strip()
                  for w in ("refusing", "exhausted")]
        log("    gateway log: %s 'refusing' lines, %s 'port range exhausted' lines" % tuple(counts))
    return passed, cpu * 1e6 / max(ok, 1)


STEPS = []  # every sip_step's outcome, in order (bench_cluster.py reads why a search ended)


def sip_search(a, kind):
    """5 s pre-scan doubling from 100 cps, then 30 s runs: from the best
    pre-scan rate up by bisection or down by 20 %; at most 4 long runs."""
    best, fail_at, rate = 0, None, 100
    while rate <= a.sip_max_rate:
        ok, _ = sip_step(a, kind, rate, 5)
        if not ok:
            fail_at = rate
            break
        best = rate
        rate *= 2
    sustained, us_call = 0, None
    rate = best if best else 50
    hi = fail_at
    for _ in range(4):
        ok, us = sip_step(a, kind, rate, a.sip_seconds)
        if ok:
            sustained, us_call = rate, us
            if hi is None or hi - rate <= max(25, rate // 8):
                break
            rate = (rate + hi) // 2
        else:
            hi = rate
            if sustained:
                break
            rate = int(rate * 0.8)
            if rate < 10:
                break
    return sustained, us_call, fail_at


def run_sip(a):
    log("== signalling: SIPp UDP inside -> proxy (CPU 0) -> TLS 127.0.0.1:5071 (stunnel) -> SIPp trunk; "
        "INVITE/180/200(SDP)/ACK, %d ms hold, BYE; sustained = %d s with 0 failed calls" % (
            SIP_HOLD_MS, a.sip_seconds))
    res = {}
    kinds = ["portcullis"] + (["kamailio"] if shutil.which("kamailio") else [])
    for kind in kinds:
        res[kind] = sip_search(a, kind)
    log("-- signalling summary")
    for kind, (cps, us, fail_at) in res.items():
        log("  %-10s sustained %d calls/s for %d s (pre-scan first failure at %s cps); proxy CPU %s us per call" % (
            kind, cps, a.sip_seconds, fail_at, "%.0f" % us if us else "-"))
    if "kamailio" in res and res["kamailio"][0]:
        log("  RATIO calls/s portcullis/kamailio = %.2f" % (res["portcullis"][0] / res["kamailio"][0]))


# --- identity -------------------------------------------------------------------

IDENTITY_ORIG, IDENTITY_DEST = "+15550001", "12125551234"
ORIGID = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
STIR_GROUP = """
stir = { certificate = "%(c)s/sti.crt"; key = "%(c)s/sti.key"; x5u = "http://127.0.0.1:8080/sti.pem";
  trust = "%(c)s/sti-ca.crt"; max_age = 3600; fetch_http_hosts = [ "127.0.0.1" ];
  fetch_allow_networks = [ "127.0.0.0/8" ]; };
http = { address = "127.0.0.1"; port = 8080; };
""" % {"c": CERTS}
# What each proxy kind adds: off is the plain `sip` gateway; "sign" signs every
# call to the trunk (the bench caller is unauthenticated: attestation C);
# "identity" also verifies the caller's Identity on the inside leg (a
# PASSporT by sti-peer, its certificate fetched once, then cached).
IDENTITY_MODES = {
    "portcullis": {"extra": "", "inside": "", "outside": "", "scenario": None},
    "portcullis-sign": {"extra": STIR_GROUP,
                        "inside": 'identity_unauthenticated = "c"; identity_origid = "%s";' % ORIGID,
                        "outside": "identity_sign = true;", "scenario": None},
    "portcullis-identity": {"extra": STIR_GROUP,
                            "inside": 'identity_unauthenticated = "c"; identity_origid = "%s"; '
                                      'identity_verify = "mark";' % ORIGID,
                            "outside": "identity_sign = true;", "scenario": None},
    "kamailio": {},
}
# `ops`: the plain gateway with call records to a file and the HTTP listener
# (scraped during the run by start_scraper); off is "portcullis" itself.
IDENTITY_MODES["portcullis-ops"] = {
    "extra": 'http = { address = "127.0.0.1"; port = 8080; }; records = { file = "%s"; };',
    "inside": "", "outside": "", "scenario": None, "scrape": (("/metrics", 1), ("/calls", 3))}
# Its parts, to say which costs what: records alone, /metrics alone, /calls alone.
IDENTITY_MODES["portcullis-records"] = dict(IDENTITY_MODES["portcullis-ops"], scrape=None)
IDENTITY_MODES["portcullis-metrics"] = dict(IDENTITY_MODES["portcullis-ops"], scrape=(("/metrics", 1),),
                                            extra='http = { address = "127.0.0.1"; port = 8080; };')
# The harsh case: the whole /calls document every second (a script polling it).
IDENTITY_MODES["portcullis-calls"] = dict(IDENTITY_MODES["portcullis-metrics"], scrape=(("/calls", 1),))


def identity_prepare(a):
    """The caller's side of `portcullis-identity`: its certificate served on
    127.0.0.1:8081 and a scenario whose INVITEs carry a PASSporT by
    sti-peer (fresh iat; the gateway's max_age is an hour for the bench)."""
    root = os.path.join(a.work, "x5u")
    os.makedirs(root, exist_ok=True)
    shutil.copy(os.path.join(CERTS, "sti-peer.crt"), root)
    tool = os.path.join(ROOT, "tests", "integration", "stir_tool.py")
    start(["python3", tool, "serve", "--port", "8081", "--root", root, "--lifetime", "3000"],
          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for(lambda: listening("tcp", 8081), 10, "x5u server")
    token = subprocess.run(["python3", tool, "sign", "--key", os.path.join(CERTS, "sti-peer.key"),
                            "--x5u", "http://127.0.0.1:8081/sti-peer.crt", "--orig", IDENTITY_ORIG[1:],
                            "--dest", IDENTITY_DEST], capture_output=True, text=True, check=True).stdout.strip()
    with open(os.path.join(BENCH, "sipp", "uac.xml")) as f:
        xml = f.read()
    xml = xml.replace("sip:bench@[local_ip]", "sip:%s@[local_ip]" % IDENTITY_ORIG)
    xml = xml.replace("CSeq: 1 INVITE\n", "CSeq: 1 INVITE\nIdentity: %s\n" % token, 1)
    if "Identity: " not in xml:
        raise RuntimeError("the bench scenario has no INVITE CSeq line to put Identity after")
    path = os.path.join(a.work, "uac_identity.xml")
    with open(path, "w") as f:
        f.write(xml)
    IDENTITY_MODES["portcullis-identity"]["scenario"] = path
    IDENTITY_HEADER[0] = token
    # The signing-only caller uses a number too, so orig is a "tn" in both.
    xml_sign = xml.replace("Identity: %s\n" % token, "")
    path = os.path.join(a.work, "uac_number.xml")
    with open(path, "w") as f:
        f.write(xml_sign)
    IDENTITY_MODES["portcullis-sign"]["scenario"] = path
    IDENTITY_MODES["portcullis"]["scenario_number"] = path


def setup_latency(a, kind, rate, calls):
    """setup_probe.py's line for `calls` sequential calls while SIPp loads
    the gateway (started as in sip_step) with `rate` calls/s of `kind`."""
    wait_test_suite_idle()
    helpers = start_trunk(a, kind)
    proxy = start_proxy(a, kind, "limits = { max_transactions = 1000000; %s};" % SIP_MAX_CALLS)
    load = None
    try:
        subprocess.run(sipp_uac(a, 5, 5, 0, 15090, timeout=20, kind=kind), capture_output=True, timeout=40,
                       cwd=a.work)
        seconds = calls // 40 + 20  # outlasts the probe (about 25 calls/s)
        load = start(sipp_uac(a, rate, rate * seconds, SIP_HOLD_MS, 15090, timeout=seconds + 30, kind=kind),
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=a.work)
        time.sleep(2)
        args = ["taskset", "-c", "1", "python3", os.path.join(BENCH, "setup_probe.py"), "--calls", str(calls)]
        if kind == "portcullis-identity":
            args += ["--identity", IDENTITY_HEADER[0]]
        r = subprocess.run(args, capture_output=True, text=True, timeout=calls * 5 + 30)
        if r.returncode != 0:
            log("  probe failed: " + r.stderr.strip()[-300:])
            return None
        return r.stdout.strip()
    finally:
        if load:
            stop(load)
        stop(proxy)
        for h in helpers:
            stop(h)


IDENTITY_HEADER = [""]


def run_identity(a):
    log("== identity: bench/stir_rate (the gateway's code, one core, key holder on the same core)")
    r = subprocess.run(["taskset", "-c", "0", os.path.join(a.bin, "stir_rate"), os.path.join(CERTS, "sti.crt"),
                        os.path.join(CERTS, "sti.key"), os.path.join(CERTS, "sti-ca.crt"), "5"],
                       capture_output=True, text=True, timeout=120)
    for line in r.stdout.splitlines():
        log("  " + line)
    if r.returncode != 0:
        log("  stir_rate failed: " + r.stderr.strip()[-300:])
    identity_prepare(a)
    rate, calls = 100, 300 if not a.quick else 150
    log("== identity: call set-up time (INVITE sent -> 200 received, bench/setup_probe.py, one call at a "
        "time, %d calls) under a SIPp load of %d calls/s of the same kind; modes in one run" % (calls, rate))
    stats = {}
    for kind in ("portcullis", "portcullis-sign", "portcullis-identity", "portcullis"):
        name = kind if kind not in stats else kind + " (again)"
        stats[name] = setup_latency(a, kind, rate, calls)
        log("  %-28s %s" % (name, stats[name] or "FAILED"))
    parsed = {k: dict(x.split("=") for x in v.split()) for k, v in stats.items() if v}
    off = [float(v["p99"]) for k, v in parsed.items() if k.split()[0] == "portcullis"]
    for kind in ("portcullis-sign", "portcullis-identity"):
        if off and kind in parsed:
            log("  ADDED p99 set-up, %s vs off (the worse of the two off runs): %.3f ms" % (
                kind, float(parsed[kind]["p99"]) - max(off)))
    log("== identity: signalling search, Identity off vs signing + verifying (same run)")
    res = {}
    for kind in ("portcullis", "portcullis-identity"):
        if kind == "portcullis":
            IDENTITY_MODES[kind]["scenario"] = IDENTITY_MODES[kind]["scenario_number"]
        try:
            res[kind] = sip_search(a, kind)
        finally:
            IDENTITY_MODES["portcullis"]["scenario"] = None
    for kind, (cps, us, fail_at) in res.items():
        log("  %-22s sustained %d calls/s for %d s (pre-scan first failure at %s cps); proxy CPU %s us per call" % (
            kind, cps, a.sip_seconds, fail_at, "%.0f" % us if us else "-"))
    if res["portcullis"][0]:
        log("  RATIO calls/s identity on/off = %.2f" % (res["portcullis-identity"][0] / res["portcullis"][0]))


# --- operations: metrics, call records, media quality on vs off ----------------

# `on` is an operator's set-up, made harsh: Prometheus scraping /metrics every
# second (its default is 60 s, 15 s is common) and the status page open, which
# fetches /calls every 3 s (status.js POLL_MS); /calls every second is measured
# on its own as portcullis-calls.
# 800 calls keep the relay below saturation on the reference machine (1,500
# saturate one core with quality on: batching then hides per-packet cost).
OPS_SIP_RATE, OPS_MEDIA_CALLS = 400, 800
OPS_PAIRS = 5  # signalling off/on alternations; the median of each side is compared
OPS_MEDIA_PAIRS = 3  # media steps are steadier (same workload, no start-up)


def start_scraper(a, paths):
    """GET each (path, every N seconds) of paths on CPU 1 until stopped (a
    bounded loop: at most an hour of scrapes)."""
    code = ("import time,urllib.request\n"
            "for tick in range(3600):\n"
            "  t0 = time.time()\n"
            "  for p, every in %r:\n"
            "    if tick %% every: continue\n"
            "    try: urllib.request.urlopen('http://127.0.0.1:8080'+p, timeout=5).read()\n"
            "    except Exception: pass\n"
            "  time.sleep(max(0, 1 - (time.time() - t0)))\n" % (tuple(paths),))
    return start(["taskset", "-c", "1", sys.executable, "-c", code],
                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def ops_prepare(a):
    for kind in ("portcullis-ops", "portcullis-records"):
        mode = IDENTITY_MODES[kind]
        if "%s" in mode["extra"]:
            mode["extra"] = mode["extra"] % os.path.join(a.work, "calls.jsonl")


def run_ops(a):
    """Same-run comparison, alternating off/on twice so drift in the machine
    shows as a difference between the two off runs: media CPU per packet at a
    fixed load (calls per core = its inverse) and gateway CPU per call at a
    fixed call rate (calls/s per core = its inverse). A search for the
    highest sustained rate would add its own step noise (bisection in 10 %%
    steps) to a 5 %% target; CPU at a fixed load does not."""
    ops_prepare(a)
    suite = "AES_CM_128_HMAC_SHA1_80"
    log("== ops: media-quality tracking off vs on: %d G.711 calls, %s, relay CPU per bridged packet" % (
        OPS_MEDIA_CALLS, suite))
    media = {"off": [], "on": []}
    for mode in ("off", "on") * OPS_MEDIA_PAIRS:
        r = media_step(a, "portcullis", suite, OPS_MEDIA_CALLS, a.media_seconds,
                       relay_args=["--quality", mode])
        media[mode].append(r["us_per_pkt"])
    m_off, m_on = statistics.median(media["off"]), statistics.median(media["on"])
    log("  media us/pkt off=%s on=%s; medians %.2f / %.2f; calls per core on/off = %.3f (target >= 0.95: %s)" % (
        ["%.2f" % x for x in media["off"]], ["%.2f" % x for x in media["on"]], m_off, m_on, m_off / m_on, "met" if m_off / m_on >= 0.95 else "NOT met"))
    log("== ops: signalling at %d calls/s x %d s: off (no records, no scrape) vs on (call records to a "
        "file, /metrics scraped every 1 s, /calls every 3 s as the open status page does), gateway CPU per call" % (
            OPS_SIP_RATE, a.sip_seconds))
    sip = {"portcullis": [], "portcullis-ops": []}
    # A discarded first run warms the machine (the first run of the first
    # session measured 917 us/call against 557 for the same build later).
    sip_step(a, "portcullis", OPS_SIP_RATE, min(a.sip_seconds, 10))
    for kind in ("portcullis", "portcullis-ops") * OPS_PAIRS:
        ok, us = sip_step(a, kind, OPS_SIP_RATE, a.sip_seconds)
        if ok:
            sip[kind].append(us)
    if sip["portcullis"] and sip["portcullis-ops"]:
        s_off, s_on = statistics.median(sip["portcullis"]), statistics.median(sip["portcullis-ops"])
        log("  signalling us/call off=%s on=%s; medians %.0f / %.0f; calls/s per core on/off = %.3f (target >= 0.95: %s)" % (
            ["%.0f" % x for x in sip["portcullis"]], ["%.0f" % x for x in sip["portcullis-ops"]],
            s_off, s_on, s_off / s_on, "met" if s_off / s_on >= 0.95 else "NOT met"))
    else:
        log("  signalling: a run failed (see above); no ratio")
    log("== ops: parts alone, one run each, against the median off above (records; /metrics every 1 s; "
        "/calls every 1 s)")
    for kind in ("portcullis-records", "portcullis-metrics", "portcullis-calls"):
        ok, us = sip_step(a, kind, OPS_SIP_RATE, a.sip_seconds)
        if ok and sip["portcullis"]:
            log("  %s: %.0f us/call, %+.0f us/call against off" % (
                kind, us, us - statistics.median(sip["portcullis"])))


# --- memory ---------------------------------------------------------------------------

def trace_stat(path):
    with open(path) as f:
        rows = [l.rstrip("\n").split(";") for l in f if l.strip()]
    return dict(zip(rows[0], rows[-1])) if len(rows) > 1 else {}


MEM_IDLE_CALLS = (1000, 10000)   # established idle calls measured
MEM_SOAK_RATE = 150              # churn soak: calls/s ...
MEM_SOAK_HOLD_MS = 6000          # ... each held this long ...
MEM_SOAK_SECONDS = 300           # ... for this long (45,000 calls)
MEM_FDS_PER_CALL = 4             # relay sockets: RTP + RTCP on each leg


def raise_nofile():
    """The soft descriptor limit up to the hard one, for this driver and
    every process it starts (they inherit it); the soft limit in the end."""
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = hard if hard != resource.RLIM_INFINITY else 1 << 20
    if soft < want:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
            soft = want
        except (ValueError, OSError) as e:
            log("  cannot raise RLIMIT_NOFILE to %d: %s" % (want, e))
    return soft


def mem_ports(calls):
    """rtp_ports settings for the two legs holding `calls` port pairs each
    (as far as the ports above 1024 go). In a namespace of its own the
    ephemeral range moves above them (a per-namespace setting)."""
    # The gateway refuses ranges that hold fewer than max_calls + 10 % pairs
    # (quarantined ones): what `calls` needs, with some room.
    per_leg = 2 * (calls + calls // 10 + 1) + 200
    lo = 10000 if 2 * per_leg <= 65535 - 10000 - 4000 else 1100
    inside = (lo, lo + per_leg - 1)
    outside = (inside[1] + 1, min(inside[1] + per_leg, 61000))
    if os.environ.get("BENCH_OWN_NETNS") == "1" and outside[1] >= 32768:
        with open("/proc/sys/net/ipv4/ip_local_port_range", "w") as f:
            f.write("%d 65535" % (outside[1] + 1))
    return inside, outside


def mem_gateway(a, tag, calls, timers=""):
    inside, outside = mem_ports(calls)
    extra = ('limits = { max_calls = %d; max_transactions = %d; media_timeout = 0; };\n%s'
             % (calls, max(60000, 6 * calls), timers))
    cfg = os.path.join(a.work, "gw-%s.conf" % tag)
    gateway_config(a, cfg, extra, ports=(inside, outside))
    p = start(["taskset", "-c", "0", a.gateway, "--config", cfg],
              stdout=open(os.path.join(a.work, "gateway-%s.log" % tag), "w"), stderr=subprocess.STDOUT)
    wait_for(lambda: listening("udp", 5060) and listening("tcp", 5061), 15, "gateway listeners")
    time.sleep(0.5)
    if p.poll() is not None:
        raise RuntimeError("gateway exited at start (see gateway-%s.log)" % tag)
    return p


def mem_warm(a, gw, settle_s):
    """A few complete calls open the TLS connection and warm the allocator;
    then their transactions end. The gateway's VmRSS afterwards."""
    subprocess.run(sipp_uac(a, 20, 20, 0, 15090, timeout=30), capture_output=True, timeout=60, cwd=a.work)
    time.sleep(settle_s)
    rss0 = status_kib(gw.pid, "VmRSS")
    log("  baseline after warm-up: VmRSS %d KiB" % rss0)
    return rss0


def mem_soak(a):
    """Churn: MEM_SOAK_RATE calls/s held MEM_SOAK_HOLD_MS for MEM_SOAK_SECONDS
    with RFC 3261's default timers (T1 = 500 ms: finished transactions linger
    up to 32 s), the gateway's RSS and SIPp's concurrent calls sampled each
    second. Per concurrent call = (median RSS of the steady part - baseline) /
    mean concurrent calls there; steady = after the first hold + 64 x T1,
    until the last call starts."""
    count = MEM_SOAK_RATE * MEM_SOAK_SECONDS
    log("-- churn soak: %d calls/s, %d ms hold, %d s (%d calls), default timers" % (
        MEM_SOAK_RATE, MEM_SOAK_HOLD_MS, MEM_SOAK_SECONDS, count))
    wait_test_suite_idle()
    helpers = start_trunk(a, "soak")
    gw = mem_gateway(a, "soak", MEM_SOAK_RATE * MEM_SOAK_HOLD_MS // 1000 * 2)
    try:
        rss0 = mem_warm(a, gw, 34)  # Timer J/K/D: 64 x T1 = 32 s
        stat = os.path.join(a.work, "soak-uac.csv")
        uac = start(sipp_uac(a, MEM_SOAK_RATE, count, MEM_SOAK_HOLD_MS, 15091,
                             ["-trace_stat", "-fd", "1", "-stf", stat],
                             timeout=MEM_SOAK_SECONDS + 120),
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=a.work)
        t0, samples = time.time(), []
        # Calls and lingering transactions at their level (a short run: its second half).
        steady_from = min(MEM_SOAK_HOLD_MS / 1000.0 + 34, MEM_SOAK_SECONDS / 2.0)
        while uac.poll() is None and time.time() - t0 < MEM_SOAK_SECONDS + 150:
            time.sleep(1)
            st = trace_stat(stat) if os.path.exists(stat) else {}
            samples.append((time.time() - t0, status_kib(gw.pid, "VmRSS"), int(st.get("CurrentCall", 0))))
        if uac.poll() is None:
            stop(uac, signal.SIGKILL)
            log("  SIPp did not finish in time: stopped")
        st = trace_stat(stat) if os.path.exists(stat) else {}
        ok, failed = int(st.get("SuccessfulCall(C)", -1)), int(st.get("FailedCall(C)", -1))
        end = MEM_SOAK_SECONDS  # the last calls start here; the tail only drains
        steady = [s for s in samples if steady_from <= s[0] <= end] or samples
        rss = statistics.median(s[1] for s in steady)
        calls = statistics.mean(s[2] for s in steady) if steady else 0
        log("  %d calls ok, %d failed; VmRSS baseline %d KiB, steady median %d KiB (max %d KiB over the "
            "soak), %.0f concurrent calls" % (ok, failed, rss0, rss, max(s[1] for s in samples), calls))
        log("  %.0f bytes per concurrent call including lingering transactions ((RSS - baseline) / "
            "concurrent calls; target under 32 KiB = 32768)" % ((rss - rss0) * 1024.0 / max(calls, 1)))
    finally:
        stop(gw)
        for h in helpers:
            stop(h)


def mem_idle(a, soft):
    # The gateway also reserves its connection budgets (about 1,500 by
    # default) and refuses to start below what max_calls then needs.
    limit = max(0, (soft - 2000) // MEM_FDS_PER_CALL)
    counts = [min(n, limit) for n in MEM_IDLE_CALLS]
    log("-- idle calls: RSS per established call (%d relay sockets a call; RLIMIT_NOFILE %d, so at most "
        "%d calls)" % (MEM_FDS_PER_CALL, soft, limit))
    if counts[-1] < MEM_IDLE_CALLS[-1]:
        log("  %d calls need about %d descriptors: measured at %d instead" % (
            MEM_IDLE_CALLS[-1], MEM_IDLE_CALLS[-1] * MEM_FDS_PER_CALL + 2000, counts[-1]))
    wait_test_suite_idle()
    helpers = start_trunk(a, "mem")
    gw = mem_gateway(a, "mem", counts[-1], "timers = { t1 = 100; };")
    uacs = []
    try:
        base = mem_warm(a, gw, 7)  # 64 x T1 = 6.4 s: the warm-up's transactions are gone
        have = 0
        for i, target in enumerate(counts):
            add = target - have
            if add <= 0:
                continue
            stat = os.path.join(a.work, "mem-uac%d.csv" % i)
            uacs.append(start(sipp_uac(a, 250, add, 3600000, 15092 + i, ["-trace_stat", "-fd", "1", "-stf", stat]),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=a.work))
            time.sleep(add / 250.0 + 3)
            st = {}
            for _ in range(60):  # up to 30 s more for the last calls to settle
                st = trace_stat(stat) if os.path.exists(stat) else {}
                if st and int(st.get("CurrentCall", 0)) + int(st.get("FailedCall(C)", 0)) >= add and \
                        int(st.get("OutgoingCall(C)", 0)) >= add:
                    break
                time.sleep(0.5)
            failed = int(st.get("FailedCall(C)", -1))
            have += int(st.get("CurrentCall", 0))
            time.sleep(7)  # INVITE transactions of the new calls end (Timer L/M = 64 x T1)
            rss = status_kib(gw.pid, "VmRSS")
            anon = status_kib(gw.pid, "RssAnon")
            fds = len(os.listdir("/proc/%d/fd" % gw.pid))
            log("  %5d established calls (failed %d): VmRSS %d KiB (RssAnon %d), %d fds; %.0f bytes per call "
                "((RSS - baseline) / calls)" % (have, failed, rss, anon, fds, (rss - base) * 1024.0 / max(have, 1)))
        log("  target: under 16 KiB (16384 bytes) per call including media state")
    finally:
        for u in uacs:
            stop(u, signal.SIGKILL)
        stop(gw)
        for h in helpers:
            stop(h)


def run_mem(a):
    soft = raise_nofile()
    log("== memory: gateway RSS under churn, and per established idle call")
    mem_soak(a)
    mem_idle(a, soft)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("what", nargs="*", default=[],
                    help="media, sip, mem, identity, ops, cluster, ports (default: media sip mem)")
    ap.add_argument("--build", default=os.path.join(ROOT, "build-bench"))
    ap.add_argument("--quick", action="store_true", help="AES-CM only, 10 s signalling runs")
    ap.add_argument("--media-seconds", type=int, default=MEDIA_SECONDS)
    ap.add_argument("--media-calls", type=int, default=0,
                    help="media at this one level, relay vs floor only, no search and no rtpengine")
    ap.add_argument("--media-io", default="auto", choices=["auto", "uring", "epoll"],
                    help="the relay's media.io (the gateway's default: auto)")
    ap.add_argument("--media-workers", default="1,2",
                    help="media worker counts compared in the media part (comma-separated; one value: no comparison)")
    ap.add_argument("--sip-seconds", type=int, default=SIP_SECONDS)
    ap.add_argument("--sip-max-rate", type=int, default=3200)
    ap.add_argument("--out", default=None, help="results file (default bench/results/<UTC time>.txt)")
    a = ap.parse_args()
    what = a.what or ["media", "sip", "mem"]
    if a.quick:
        a.sip_seconds = min(a.sip_seconds, 10)
    a.bin = os.path.join(a.build, "bench-bin")
    a.gateway = os.path.join(a.build, "gateway", "portcullis")
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    a.work = os.path.join("/tmp", "portcullis-bench-" + stamp)
    os.makedirs(a.work)
    out = a.out or os.path.join(BENCH, "results", stamp + ".txt")
    os.sched_setaffinity(0, {1})  # this driver and its helpers stay off the measured core
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    head = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "gateway"], capture_output=True, text=True).stdout
    log("Portcullis benchmark %s  commit %s%s  build %s" % (stamp, head, " (gateway/ modified)" if dirty else "", a.build))
    log("command: bench/run %s" % " ".join(sys.argv[1:]))
    log("machine: %d CPUs (%s), kernel %s" % (os.cpu_count(), cpu_model(), os.uname().release))
    log("versions: %s" % versions())
    t0 = time.time()
    try:
        for w in what:
            if w in ("cluster", "ports"):
                getattr(bench_cluster, "run_" + w)(a, sys.modules[__name__])
                continue
            {"media": run_media, "sip": run_sip, "mem": run_mem, "identity": run_identity, "ops": run_ops}[w](a)
    finally:
        log("total %.0f s; scratch files in %s" % (time.time() - t0, a.work))
        os.makedirs(os.path.dirname(out), exist_ok=True)
        with open(out, "w") as f:
            f.write("\n".join(out_lines) + "\n")
        print("results written to " + os.path.relpath(out, ROOT))


def cpu_model():
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return "?"


def versions():
    out = []
    for pkg in ["libsrtp2-1", "libgnutls30", "rtpengine-daemon", "kamailio", "sip-tester", "stunnel4",
                "redis-server"]:
        r = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", pkg], capture_output=True, text=True)
        out.append("%s %s" % (pkg, r.stdout or "absent"))
    return ", ".join(out)


if __name__ == "__main__":
    main()
