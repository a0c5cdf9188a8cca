"""The `cluster` and `ports` parts of bench/run (issue 12), kept apart from
bench.py's media, sip and mem parts; bench.py passes itself in as `b` and
these reuse its signalling search (sip_search, sip_step) with modes of their
own in b.IDENTITY_MODES.

cluster  The search with the gateway alone, then with a `cluster` group on a
         redis-server the bench starts itself (127.0.0.1, a free port, its own
         directory, no persistence, pinned to the driver's CPU 1, stopped by
         PID), the same SIPp load: both rates, the ratio (target: cluster on
         within 20 % of off), Redis's CPU seconds and its commands per
         completed call (INFO commandstats, reset before each load); then
         off and on alternated at one rate, gateway CPU per call. Then
         media on held calls with the cluster on: Redis commands counted
         while only RTP flows, against the packets relayed (media state is
         written on signalling events, never per packet: expect none).
ports    The search with the embedded default configuration's relay port
         ranges (20000-28999 inside, 30000-38999 outside, max_calls 4000),
         /metrics read after every step: whether the search ended on relay
         ports (media_ports_exhausted grew) or on CPU."""
import os
import re
import socket
import statistics
import subprocess
import time
import urllib.request

REDIS_NODE = "bench-a"
TARGET_RATIO = 0.8          # issue 12: calls/s with the cluster within 20 % of without
DEFAULT_PORTS = ((20000, 28999), (30000, 38999))  # gateway/config/default.conf
DEFAULT_MAX_CALLS = 4000
HTTP = "http://127.0.0.1:8080"
FIXED_RATE, FIXED_PAIRS = 300, 2  # the CPU-per-call comparison at one rate
MEDIA_CALLS = 20            # held calls of the media check
MEDIA_SECONDS = 5           # RTP sent this long, 50 packets/s a call
MEDIA_PORTS = ((40000, 40199), (40200, 40399))  # small ranges: every RTP port is sprayed
CALLER_RTP, TRUNK_RTP = 9000, 9002  # the ports bench/sipp/uac.xml and uas.xml put in their SDP


# --- Redis ------------------------------------------------------------------------

def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_redis(a, b):
    port = free_port()
    d = os.path.join(a.work, "redis")
    os.makedirs(d, exist_ok=True)
    p = b.start(["taskset", "-c", "1", "redis-server", "--port", str(port), "--bind", "127.0.0.1",
                 "--save", "", "--appendonly", "no", "--dir", d],
                stdout=open(os.path.join(a.work, "redis.log"), "w"), stderr=subprocess.STDOUT)
    b.wait_for(lambda: b.listening("tcp", port), 10, "redis-server")
    return p, port


def rcli(port, *args):
    return subprocess.run(["redis-cli", "-p", str(port)] + list(args), capture_output=True, text=True,
                          timeout=10).stdout


def command_calls(port):
    """{command: calls} from INFO commandstats, without the bench's own INFO/CONFIG."""
    out = {}
    for name, calls in re.findall(r"cmdstat_([\w|]+):calls=(\d+)", rcli(port, "INFO", "commandstats")):
        if name.split("|")[0] not in ("info", "config"):
            out[name] = int(calls)
    return out


def write_key_file(a):
    """The cluster key: 64 hex digits in a file created 0600 (the gateway refuses a wider one)."""
    path = os.path.join(a.work, "cluster.key")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(os.urandom(32).hex() + "\n")
    return path


def redis_probe(redis, port, totals):
    """A sip_step probe: statistics reset and Redis's CPU read before the
    load; after it, Redis CPU and commands, added to totals."""
    def begin(a, proxy):
        rcli(port, "CONFIG", "RESETSTAT")
        c0 = redis_cpu(redis)

        def finish(wall):
            cpu = redis_cpu(redis) - c0
            cmds = command_calls(port)
            n = sum(cmds.values())
            totals.append((cpu, n, cmds))
            top = ", ".join("%s %d" % kv for kv in sorted(cmds.items(), key=lambda kv: -kv[1])[:6])
            with open(os.path.join(a.work, "gateway.log"), errors="replace") as f:
                trips = sum("unreachable" in line for line in f)
            return "redis: %.2f CPU s (%.0f%% of CPU 1), %d commands (%s); breaker opened %d times" % (
                cpu, 100 * cpu / wall, n, top or "-", trips)
        return finish
    return begin


def redis_cpu(redis):
    with open("/proc/%d/stat" % redis.pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# --- cluster on vs off ------------------------------------------------------------------

def run_cluster(a, b):
    redis, port = start_redis(a, b)
    key = write_key_file(a)
    group = 'cluster = { redis = "127.0.0.1:%d"; node = "%s"; key_file = "%s"; };' % (port, REDIS_NODE, key)
    totals = []
    b.IDENTITY_MODES["portcullis-cluster"] = dict(b.IDENTITY_MODES["portcullis"], extra=group,
                                                  probe=redis_probe(redis, port, totals))
    b.log("== cluster: the `sip` search with the gateway alone, then with cluster { redis; node; key_file } "
          "on redis-server %s (127.0.0.1:%d, CPU 1 with the load generators); %d ms hold" % (
              rcli(port, "INFO", "server").split("redis_version:")[-1].split()[0], port, b.SIP_HOLD_MS))
    try:
        res = {}
        for kind in ("portcullis", "portcullis-cluster"):
            first = len(b.STEPS)
            res[kind] = b.sip_search(a, kind)
            if kind == "portcullis-cluster":
                counted = [s for s in b.STEPS[first:] if s["kind"] == kind]
                per_call = [t[1] / max(s["ok"], 1) for s, t in zip(counted, totals)]
        b.log("-- cluster summary")
        for kind, (cps, us, fail_at) in res.items():
            b.log("  %-20s sustained %d calls/s for %d s (pre-scan first failure at %s cps); gateway CPU %s us "
                  "per call" % (kind, cps, a.sip_seconds, fail_at, "%.0f" % us if us else "-"))
        off, on = res["portcullis"], res["portcullis-cluster"]
        if off[0]:
            ratio = on[0] / off[0]
            b.log("  RATIO calls/s cluster on/off = %.2f (target >= %.2f: %s)" % (
                ratio, TARGET_RATIO, "met" if ratio >= TARGET_RATIO else "NOT met"))
        if off[1] and on[1]:
            b.log("  CPU per call cluster on/off = %.2f (%.0f / %.0f us)" % (on[1] / off[1], on[1], off[1]))
        if totals:
            b.log("  redis: %.1f CPU s over the %d cluster steps (max %.2f s in one); %.1f commands per call "
                  "(median over the steps; per step %s)" % (
                      sum(t[0] for t in totals), len(totals), max(t[0] for t in totals),
                      statistics.median(per_call), " ".join("%.1f" % x for x in per_call)))
        fixed_rate(a, b)
        media_check(a, b, port, group, redis)
    finally:
        b.stop(redis)


def fixed_rate(a, b):
    """Off and on alternated at one rate well below both limits: gateway
    CPU per call (calls/s per core is its inverse), which a busy machine
    disturbs less than the searches' pass/fail edge (bench.py's ops part
    does the same)."""
    b.log("-- cluster: off/on alternated %d times at %d calls/s x %d s, gateway CPU per call" % (
        FIXED_PAIRS, FIXED_RATE, a.sip_seconds))
    us = {"portcullis": [], "portcullis-cluster": []}
    for kind in ("portcullis", "portcullis-cluster") * FIXED_PAIRS:
        ok, x = b.sip_step(a, kind, FIXED_RATE, a.sip_seconds)
        if ok:
            us[kind].append(x)
    off, on = us["portcullis"], us["portcullis-cluster"]
    if off and on:
        m_off, m_on = statistics.median(off), statistics.median(on)
        b.log("  us/call off=%s on=%s; medians %.0f / %.0f; calls/s per core on/off = %.2f (target >= %.2f: %s)" % (
            ["%.0f" % x for x in off], ["%.0f" % x for x in on], m_off, m_on, m_off / m_on, TARGET_RATIO,
            "met" if m_off / m_on >= TARGET_RATIO else "NOT met"))
    else:
        b.log("  a run failed (see above): no ratio")


def spray_rtp(ports, seconds):
    """G.711-sized RTP from the caller's SDP port to every even port of the
    inside range, 50 rounds a second (a call's relay port gets its 50
    packets/s; unused ports drop them); the relayed SRTP counted where the
    trunk's SDP says it listens. Bounded by `seconds`."""
    tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    tx.bind(("127.0.0.1", CALLER_RTP))
    rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rx.bind(("127.0.0.1", TRUNK_RTP))
    rx.setblocking(False)
    payload = bytes(160)
    sent = got = seq = 0
    t0 = time.monotonic()
    while time.monotonic() - t0 < seconds:
        seq += 1
        hdr = bytes([0x80, 0, (seq >> 8) & 0xFF, seq & 0xFF]) + (seq * 160).to_bytes(4, "big")
        for port in range(ports[0], ports[1], 2):
            try:
                tx.sendto(hdr + port.to_bytes(4, "big") + payload, ("127.0.0.1", port))
                sent += 1
            except OSError:
                pass
        got += drain(rx)
        time.sleep(max(0.0, t0 + seq * 0.02 - time.monotonic()))
    time.sleep(0.3)
    got += drain(rx)
    tx.close()
    rx.close()
    return sent, got


def drain(rx):
    n = 0
    while n < 100000:
        try:
            rx.recv(2048)
            n += 1
        except (BlockingIOError, InterruptedError):
            break
    return n


def media_check(a, b, port, group, redis):
    """MEDIA_CALLS calls held while RTP flows through them with the cluster
    on: Redis commands issued during the media alone, per packet relayed."""
    b.log("-- cluster: media on %d held calls, %d s of RTP at 50 packets/s a call (plain inside -> SRTP "
          "outside), Redis commands counted during the media only" % (MEDIA_CALLS, MEDIA_SECONDS))
    b.wait_test_suite_idle()
    b.IDENTITY_MODES["portcullis-cluster-media"] = dict(b.IDENTITY_MODES["portcullis"], extra=group,
                                                        ports=MEDIA_PORTS)
    helpers = b.start_trunk(a, "cmedia")
    proxy = b.start_proxy(a, "portcullis-cluster-media", "limits = { max_calls = %d; };" % (MEDIA_CALLS * 2),
                          tag="-cmedia")
    uac = None
    try:
        hold_ms = (MEDIA_SECONDS + 6) * 1000
        uac = b.start(b.sipp_uac(a, MEDIA_CALLS, MEDIA_CALLS, hold_ms, 15091, timeout=hold_ms // 1000 + 30),
                      stdout=open(os.path.join(a.work, "cmedia-uac.out"), "w"), stderr=subprocess.STDOUT,
                      cwd=a.work)
        time.sleep(3)  # calls set up, their state written
        rcli(port, "CONFIG", "RESETSTAT")
        c0 = redis_cpu(redis)
        sent, got = spray_rtp(MEDIA_PORTS[0], MEDIA_SECONDS)
        cpu = redis_cpu(redis) - c0
        cmds = command_calls(port)
        uac.wait(hold_ms / 1000 + 40)
        ok, failed = b.sipp_counts(open(os.path.join(a.work, "cmedia-uac.out")).read())
        n = sum(cmds.values())
        b.log("  calls ok=%d failed=%d; RTP sent %d (to every inside RTP port), relayed SRTP received %d; "
              "Redis during the media: %d commands (%s), %.2f CPU s; %.4f commands per relayed packet" % (
                  ok, failed, sent, got, n, ", ".join("%s %d" % kv for kv in sorted(cmds.items())) or "none",
                  cpu, n / max(got, 1)))
        if got < MEDIA_CALLS * 50 * MEDIA_SECONDS * 0.9:
            b.log("  (fewer packets relayed than %d calls x 50/s x %d s: the check is weak; see the logs)" % (
                MEDIA_CALLS, MEDIA_SECONDS))
    finally:
        if uac:
            b.stop(uac)
        b.stop(proxy)
        for h in helpers:
            b.stop(h)


# --- the default relay port ranges ------------------------------------------------------

def exhausted():
    """media_ports_exhausted from the gateway's /metrics (-1 if unreadable)."""
    try:
        text = urllib.request.urlopen(HTTP + "/metrics", timeout=5).read().decode()
    except OSError:
        return -1
    m = re.search(r"^portcullis_media_ports_exhausted_total (\d+)", text, re.M)
    return int(m.group(1)) if m else -1


def ports_probe(a, proxy):
    e0 = exhausted()

    def finish(wall):
        e1 = exhausted()
        return "media_ports_exhausted +%s (/metrics)" % (e1 - e0 if e0 >= 0 and e1 >= 0 else "?")
    return finish


def run_ports(a, b):
    kind = "portcullis-defaults"
    b.IDENTITY_MODES[kind] = dict(b.IDENTITY_MODES["portcullis"], ports=DEFAULT_PORTS, probe=ports_probe,
                                  limits="max_calls = %d; " % DEFAULT_MAX_CALLS,
                                  extra='http = { address = "127.0.0.1"; port = 8080; };')
    b.log("== ports: the `sip` search with the embedded default relay ports (inside %d-%d, outside %d-%d, "
          "max_calls %d); max_transactions raised as in `sip`; /metrics read before and after each load" % (
              DEFAULT_PORTS[0] + DEFAULT_PORTS[1] + (DEFAULT_MAX_CALLS,)))
    first = len(b.STEPS)
    cps, us, fail_at = b.sip_search(a, kind)
    steps = b.STEPS[first:]
    b.log("-- ports summary")
    b.log("  %s sustained %d calls/s for %d s (pre-scan first failure at %s cps); gateway CPU %s us per call" % (
        kind, cps, a.sip_seconds, fail_at, "%.0f" % us if us else "-"))
    failed = [s for s in steps if not s["passed"]]
    if not failed:
        b.log("  ENDED on nothing: every step passed up to --sip-max-rate %d" % a.sip_max_rate)
        return
    s = failed[-1]
    grew = re.search(r"exhausted \+(\d+)", s["note"])
    if grew and int(grew.group(1)) > 0:
        why = "PORTS (media_ports_exhausted +%s at %d cps)" % (grew.group(1), s["rate"])
    elif s["cpu_share"] >= 0.9:
        why = "CPU (gateway at %.0f%% of its core at %d cps, no port exhausted)" % (100 * s["cpu_share"], s["rate"])
    else:
        why = ("neither ports nor the gateway's CPU (%.0f%% at %d cps, no port exhausted): the generators or "
               "the machine; see the step lines" % (100 * s["cpu_share"], s["rate"]))
    if s["gen_busy"] > 0.9:
        why += ("; CPU 1 was saturated then: the generators fall behind, calls last longer than planned "
                "and hold their ports longer")
    b.log("  ENDED on %s (the last failing step)" % why)
