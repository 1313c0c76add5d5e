#!/usr/bin/env python3
"""Live proof of gpukit's Prometheus rules (issue 13): two node_exporters
(standing for two nodes) on 127.0.0.1 with their own textfile directories,
gpuaccount jobs and a `gpuaccount --node` monitor on fake GPUs writing into
them, and Prometheus scraping both every second with the shipped rules
(share/gpukit/prometheus). The recording rules must return the fleet figures
that this script computes itself from the jobs' JSON records; when the jobs
end, their textfiles go and their series with them, while the hour's
score-hours keep them. Every process is stopped by its PID on every exit path.

Usage: prometheus_fleet.py BUILD_DIR SOURCE_DIR
Exit 0 when the figures match, 1 when they do not, 77 (skipped) when
prometheus or prometheus-node-exporter is not installed.
"""
import copy
import ctypes
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

INTERVAL = 0.5          # gpuaccount --interval
CHECK_TIMEOUT = 40.0    # seconds for the rules to show the expected figures
RATIO_TOLERANCE = 0.02  # active/held, energy per score-hour: the same counters
TOTAL_TOLERANCE = 0.08  # hour totals: within an interval or a scrape of the records
MIN_JOB_S = 15.0        # the jobs' least length
ENDED_TOLERANCE = 0.15  # an ended job's hour total: its last second is not scraped
BENCHMARK = "gpukit-hep/0.1"
SCORES = {"NVIDIA H100 80GB HBM3": 2.5, "NVIDIA A100-SXM4-40GB": 1.0}


def skip(reason):
    print("skipped: " + reason)
    sys.exit(77)


def binary(*names):
    for n in names:
        path = shutil.which(n)
        if path:
            return path
    return None


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# Children die with this script, even when it is killed (PR_SET_PDEATHSIG).
_libc = ctypes.CDLL(None, use_errno=True)


def _die_with_parent():
    _libc.prctl(1, signal.SIGKILL)


class Processes:
    """Every process the test starts, stopped by PID in reverse order."""

    def __init__(self, logdir):
        self.logdir = logdir
        self.started = []  # (name, Popen)
        # Payloads (pid: command line), which outlive a killed gpuaccount by
        # design: killed at the end only if still the same process.
        self.payloads = {}

    def start(self, name, argv, env=None):
        log = open(os.path.join(self.logdir, name + ".log"), "wb")
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                             env=env, preexec_fn=_die_with_parent)
        log.close()
        self.started.append((name, p))
        return p

    def stop(self, p, timeout=10):
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        return p.returncode

    def stop_all(self):
        for _, p in reversed(self.started):
            try:
                self.stop(p, 5)
            except Exception:  # keep stopping the others
                pass
        for pid, cmdline in self.payloads.items():
            try:
                with open("/proc/%d/cmdline" % pid, "rb") as f:
                    if f.read() == cmdline:
                        os.kill(pid, signal.SIGKILL)
            except OSError:
                pass

    def log(self, name):
        try:
            with open(os.path.join(self.logdir, name + ".log"), errors="replace") as f:
                return f.read()[-2000:]
        except OSError:
            return ""


def gpu(fixture_gpu, uuid, bus, util, power):
    g = copy.deepcopy(fixture_gpu)
    g["uuid"], g["pci_bus_id"] = uuid, bus
    g["telemetry"] = {"power_w": power, "energy_j": 1.0e6, "gpu_utilization_pct": util, "memory_utilization_pct": 10,
                      "memory_used_bytes": 8 << 30, "sm_clock_mhz": 1755, "memory_clock_mhz": 2619,
                      "temperature_c": 50, "throttle_reasons": 4, "ecc_corrected": 0, "ecc_uncorrected": 0}
    return g


def machines(source):
    """Two nodes with constant readings: node 1 has four H100s, node 2 an H100
    and an A100 in MIG mode (a 3g.20gb instance)."""
    with open(os.path.join(source, "tests/fixtures/machines/nvidia_telemetry.json")) as f:
        fixture = json.load(f)
    h100, a100 = fixture["gpus"][0], fixture["gpus"][2]
    base = {k: fixture[k] for k in ("driver_version", "nvml_version", "cuda_driver_version")}
    node1 = dict(base, gpus=[
        gpu(h100, "GPU-10000000-0000-4000-8000-000000000000", "0000:18:00.0", 60, 300),
        gpu(h100, "GPU-10000000-0000-4000-8000-000000000001", "0000:2a:00.0", 20, 150),
        gpu(h100, "GPU-10000000-0000-4000-8000-000000000002", "0000:3a:00.0", 0, 70),
        gpu(h100, "GPU-10000000-0000-4000-8000-000000000003", "0000:5d:00.0", 0, 70)], processes=[])
    mig = gpu(a100, "GPU-20000000-0000-4000-8000-000000000001", "0000:07:00.0", 0, 180)
    mig["mig_instances"] = [a100["mig_instances"][0]]
    node2 = dict(base, gpus=[gpu(h100, "GPU-20000000-0000-4000-8000-000000000000", "0000:18:00.0", 90, 500), mig],
                 processes=[])
    return node1, node2


class Prometheus:
    def __init__(self, port):
        self.base = "http://127.0.0.1:%d" % port

    def get(self, path, **params):
        url = self.base + path + ("?" + urllib.parse.urlencode(params) if params else "")
        with urllib.request.urlopen(url, timeout=5) as r:
            return json.load(r)

    def ready(self):
        try:
            with urllib.request.urlopen(self.base + "/-/ready", timeout=2) as r:
                return r.status == 200
        except (urllib.error.URLError, OSError):
            return False

    def latest(self, expr):
        """{labels: (t, value)} of a recorded series' newest sample (its rule's
        evaluation time, not the query's)."""
        data = self.get("/api/v1/query", query=expr + "[10s]")["data"]
        out = {}
        for s in data["result"]:
            labels = {k: v for k, v in s["metric"].items() if k != "__name__"}
            t, v = s["values"][-1]
            out[tuple(sorted(labels.items()))] = (float(t), float(v))
        return out


def wait_for(condition, timeout, step=0.25):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(step)
    return False


def read_record(path):
    """The account section and the file's mtime (the instant of its figures),
    or None while the file is not there or mid-rename."""
    try:
        mtime = os.stat(path).st_mtime
        with open(path) as f:
            return json.load(f)["account"], mtime
    except (OSError, ValueError, KeyError):
        return None


def vo_of(identity):
    fqan = identity.get("fqan") or ""
    return fqan.split("/")[1] if fqan.startswith("/") else ""


def job_devices(account):
    """Per device of a job: its count, and its counters' rates (per second)
    from the record, with the record's values."""
    scores = {}
    n = account.get("normalised") or {}
    if n.get("gpu"):
        scores = {d["uuid"]: d["score"] for d in n["gpu"]["devices"] if d.get("score") is not None}
    out = []
    for g in account["gpus"]:
        held, available = g["held_s"], g["available_s"]
        if available <= 0:
            return None  # not sampled twice yet
        d = {"count": g["count"], "held": held, "active": g["active_s"], "energy": g["energy_j"],
             "score": held * scores[g["uuid"]] if g["uuid"] in scores else None}
        d["rates"] = {k: (v / available if v is not None else None) for k, v in d.items() if k != "count"}
        out.append(d)
    return out


def expected(nodes, jobs, at):
    """The fleet figures at time `at`, from the records: instant figures as
    recorded, counters carried linearly from each record's instant to `at`
    (the usage is constant, as Prometheus's extrapolation assumes)."""
    fig = {}
    site = {"installed": 0, "held": 0, "active": 0, "held_known": 0, "idle": 0, "score": 0, "energy": 0,
            "score_energy": 0}
    by_user, by_vo = {}, {}
    for node, (account, _) in nodes.items():
        n = {"installed": sum(1 for g in account["gpus"] if g["kind"] == "gpu"), "held": 0, "active": 0,
             "held_known": 0, "idle": 0, "score": 0, "energy": 0, "score_energy": 0}
        for job_node, (record, mtime) in jobs.values():
            if job_node != node:
                continue
            devices = job_devices(record)
            if devices is None:
                return None
            for d in devices:
                def now(key):
                    return None if d[key] is None else d[key] + d["rates"][key] * (at - mtime)
                n["held"] += d["count"]
                if d["active"] is not None:
                    n["active"] += now("active")
                    n["held_known"] += now("held")
                    n["idle"] += max(now("held") - now("active"), 0) / 3600
                if d["score"] is not None:
                    n["score"] += now("score") / 3600
                    user, vo = record["identity"].get("user") or "", vo_of(record["identity"])
                    by_user[user] = by_user.get(user, 0) + now("score") / 3600
                    by_vo[vo] = by_vo.get(vo, 0) + now("score") / 3600
                    if d["energy"] is not None:
                        n["energy"] += now("energy")
                        n["score_energy"] += now("score") / 3600
        for k in site:
            site[k] += n[k]
        fig[node] = n
    fig["site"] = site
    fig["user"], fig["vo"] = by_user, by_vo
    return fig


def close(got, want, tolerance):
    return abs(got - want) <= tolerance * max(abs(want), 1e-9) + 1e-9


def compare(prom, instances, nodes, jobs):
    """The mismatches between the rules and the records (empty: all match),
    and the number of figures compared."""
    problems = []
    compared = 0

    def check(expr, labels, want_of, tolerance):
        nonlocal compared
        compared += 1
        series = prom.latest(expr)
        key = tuple(sorted(labels.items()))
        if key not in series:
            problems.append("%s%s: no sample (have %s)" % (expr, labels, sorted(series)))
            return
        t, got = series[key]
        figures = expected(nodes, jobs, t)
        if figures is None:
            problems.append("records not complete yet")
            return
        want = want_of(figures)
        if not close(got, want, tolerance):
            problems.append("%s%s = %.6g, the records say %.6g" % (expr, labels, got, want))

    site = {"site": "T1"}
    for node, instance in instances.items():
        at = dict(site, instance=instance)
        check("instance:gpukit_gpus_installed:count", at, lambda f, n=node: f[n]["installed"], 0)
        check("instance:gpukit_gpus_held:sum", at, lambda f, n=node: f[n]["held"], 1e-9)
        check("instance:gpukit_gpu_occupancy:ratio", at, lambda f, n=node: f[n]["held"] / f[n]["installed"], 1e-9)
        check("instance:gpukit_gpu_active_per_held:ratio_rate5m", at,
              lambda f, n=node: f[n]["active"] / f[n]["held_known"], RATIO_TOLERANCE)
        check("instance:gpukit_gpu_held_idle_hours:increase1h", at, lambda f, n=node: f[n]["idle"], TOTAL_TOLERANCE)
        bench = dict(at, benchmark=BENCHMARK)
        check("instance:gpukit_gpu_score_hours:increase1h", bench, lambda f, n=node: f[n]["score"], TOTAL_TOLERANCE)
        check("instance:gpukit_gpu_energy_per_score_hour_joules:increase1h", bench,
              lambda f, n=node: f[n]["energy"] / f[n]["score_energy"], RATIO_TOLERANCE)
    check("site:gpukit_gpus_installed:sum", site, lambda f: f["site"]["installed"], 0)
    check("site:gpukit_gpus_held:sum", site, lambda f: f["site"]["held"], 1e-9)
    check("site:gpukit_gpu_occupancy:ratio", site, lambda f: f["site"]["held"] / f["site"]["installed"], 1e-9)
    check("site:gpukit_gpu_active_per_held:ratio_rate5m", site,
          lambda f: f["site"]["active"] / f["site"]["held_known"], RATIO_TOLERANCE)
    check("site:gpukit_gpu_held_idle_hours:increase1h", site, lambda f: f["site"]["idle"], TOTAL_TOLERANCE)
    bench = dict(site, benchmark=BENCHMARK)
    check("site:gpukit_gpu_score_hours:increase1h", bench, lambda f: f["site"]["score"], TOTAL_TOLERANCE)
    check("site:gpukit_gpu_energy_per_score_hour_joules:increase1h", bench,
          lambda f: f["site"]["energy"] / f["site"]["score_energy"], RATIO_TOLERANCE)
    for user in ("alice", "bob", "carol"):
        check("user:gpukit_gpu_score_hours:increase1h", dict(bench, user=user), lambda f, u=user: f["user"].get(u, 0),
              TOTAL_TOLERANCE)
    for vo in ("atlas", "cms", "lhcb"):
        check("vo:gpukit_gpu_score_hours:increase1h", dict(bench, vo=vo), lambda f, v=vo: f["vo"].get(v, 0),
              TOTAL_TOLERANCE)
    return problems, compared


def diagnose(prom, record_path):
    """What Prometheus has of one job's counter, beside its record."""
    state = read_record(record_path)
    if state:
        account, mtime = state
        g = account["gpus"][0]
        print("record %s at %.3f: available_s %s held_s %s" % (record_path, mtime, g["available_s"], g["held_s"]))
    data = prom.get("/api/v1/query", query='gpukit_gpu_held_seconds_total{job_id="n1-a"}[1h]')["data"]["result"]
    for s in data:
        print("scraped: " + " ".join("%.3f=%s" % (t, v) for t, v in s["values"][:6]) + " ... " +
              " ".join("%.3f=%s" % (t, v) for t, v in s["values"][-2:]))
    for q in ('increase(gpukit_gpu_held_seconds_total{job_id="n1-a"}[1h])',
              'timestamp(instance:gpukit_gpu_score_hours:increase1h)'):
        print(q, prom.get("/api/v1/query", query=q)["data"]["result"])


def main():
    if len(sys.argv) != 3:
        print(__doc__)
        return 2
    build, source = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    prometheus_bin = binary("prometheus")
    exporter_bin = binary("prometheus-node-exporter", "node_exporter")
    if not prometheus_bin:
        skip("prometheus is not installed (Debian package prometheus; scripts/setup installs it)")
    if not exporter_bin:
        skip("node_exporter is not installed (Debian package prometheus-node-exporter; scripts/setup installs it)")
    gpuaccount = os.path.join(build, "bin", "gpuaccount")
    nvml = os.path.join(build, "tests", "fakes", "nvidia", "libnvidia-ml.so.1")
    for path in (gpuaccount, nvml):
        if not os.path.exists(path):
            print("not built: " + path)
            return 1
    rules = os.path.join(source, "share", "gpukit", "prometheus")

    tmp = tempfile.mkdtemp(prefix="gpukit-prometheus.")
    procs = Processes(tmp)
    # A SIGTERM from CTest (or anyone) ends the test through the finally below.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    started = time.monotonic()
    try:
        return run(tmp, procs, source, prometheus_bin, exporter_bin, gpuaccount, nvml, rules)
    finally:
        procs.stop_all()
        shutil.rmtree(tmp, ignore_errors=True)
        print("took %.1f s" % (time.monotonic() - started))


def run(tmp, procs, source, prometheus_bin, exporter_bin, gpuaccount, nvml, rules):
    node_machines = dict(zip(("node1", "node2"), machines(source)))
    ports = {"node1": free_port(), "node2": free_port(), "prometheus": free_port()}
    instances = {n: "127.0.0.1:%d" % ports[n] for n in ("node1", "node2")}
    for node, machine in node_machines.items():
        os.makedirs(os.path.join(tmp, node, "textfile"))
        with open(os.path.join(tmp, node, "machine.json"), "w") as f:
            json.dump(machine, f)
        procs.start("exporter-" + node, [exporter_bin, "--web.listen-address=" + instances[node],
                                         "--web.disable-exporter-metrics", "--collector.disable-defaults",
                                         "--collector.textfile",
                                         "--collector.textfile.directory=" + os.path.join(tmp, node, "textfile")])
    with open(os.path.join(tmp, "prometheus.yml"), "w") as f:
        json.dump({"global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
                   "rule_files": [os.path.join(rules, "gpukit.rules.yml"), os.path.join(rules, "gpukit.alerts.yml")],
                   "scrape_configs": [{"job_name": "node", "static_configs": [
                       {"targets": list(instances.values()), "labels": {"site": "T1"}}]}]}, f)  # YAML is JSON
    prom = Prometheus(ports["prometheus"])
    procs.start("prometheus", [prometheus_bin, "--config.file=" + os.path.join(tmp, "prometheus.yml"),
                               "--storage.tsdb.path=" + os.path.join(tmp, "data"),
                               "--web.listen-address=127.0.0.1:%d" % ports["prometheus"]])
    if not wait_for(prom.ready, 30):
        print("Prometheus did not become ready:\n" + procs.log("prometheus"))
        return 1
    def rules_loaded():
        return sum(len(g["rules"]) for g in prom.get("/api/v1/rules")["data"]["groups"]) == 21
    if not wait_for(rules_loaded, 15):
        print("Prometheus did not load the 21 shipped rules:\n" + procs.log("prometheus"))
        return 1

    # Prometheus scraping first (its discovery hands it the targets after up to
    # 5 s), then the jobs: a job's counters are then seen from near 0, which
    # lets increase() extrapolate to the job's start.
    def scraping():
        up = prom.get("/api/v1/query", query='up{job="node"} == 1')["data"]["result"]
        return len(up) == len(instances)
    if not wait_for(scraping, 20):
        print("Prometheus does not scrape the node_exporters:\n" + procs.log("prometheus"))
        return 1

    with open(os.path.join(tmp, "scores.json"), "w") as f:
        json.dump({"benchmark_type": BENCHMARK, "models": SCORES}, f)
    base_env = dict(os.environ, GPUKIT_NVML_LIBRARY=nvml)
    base_env.pop("CUDA_VISIBLE_DEVICES", None)
    account = [gpuaccount, "-q", "--interval", str(INTERVAL)]
    for node in node_machines:
        env = dict(base_env, GPUKIT_FAKE_MACHINE=os.path.join(tmp, node, "machine.json"))
        procs.start("monitor-" + node, account + ["--node", "-o", os.path.join(tmp, node, "node.json"),
                                                  "--prometheus", os.path.join(tmp, node, "textfile", "node.prom")],
                    env)
    mig_uuid = node_machines["node2"]["gpus"][1]["mig_instances"][0]["uuid"]
    job_specs = {  # job id: node, device, user, FQAN
        "n1-a": ("node1", node_machines["node1"]["gpus"][0]["uuid"], "alice", "/atlas/Role=production"),
        "n1-b": ("node1", node_machines["node1"]["gpus"][1]["uuid"], "bob", "/cms/Role=pilot"),
        "n2-c": ("node2", node_machines["node2"]["gpus"][0]["uuid"], "alice", "/atlas"),
        "n2-d": ("node2", mig_uuid, "carol", "/lhcb/Role=user"),
    }
    job_procs, record_paths = {}, {}
    jobs_started = time.monotonic()
    for job, (node, device, user, fqan) in job_specs.items():
        env = dict(base_env, GPUKIT_FAKE_MACHINE=os.path.join(tmp, node, "machine.json"), CUDA_VISIBLE_DEVICES=device)
        record_paths[job] = os.path.join(tmp, node, job + ".json")
        job_procs[job] = procs.start(job, account + [
            "--site", "TEST-SITE", "--job-id", job, "--user", user, "--fqan", fqan, "--benchmark",
            os.path.join(tmp, "scores.json"), "-o", record_paths[job],
            "--prometheus", os.path.join(tmp, node, "textfile", job + ".prom"), "--", "sleep", "60"], env)

    def records():
        nodes = {n: read_record(os.path.join(tmp, n, "node.json")) for n in node_machines}
        jobs = {j: (job_specs[j][0], read_record(p)) for j, p in record_paths.items()}
        if any(v is None for v in nodes.values()) or any(r is None for _, r in jobs.values()):
            return None
        for job, (_, (account, _)) in jobs.items():
            if account.get("pid"):
                procs.payloads[account["pid"]] = b"sleep\x0060\x00"
        return nodes, {j: (n, r) for j, (n, r) in jobs.items()}

    # 1. While the jobs run: the rules match the records.
    problems, compared = ["no figures yet"], 0
    checked = time.monotonic()

    def matches():
        nonlocal problems, compared
        state = records()
        if state is None:
            problems = ["records not written yet"]
            return False
        problems, compared = compare(prom, instances, *state)
        return not problems
    if not wait_for(matches, CHECK_TIMEOUT, 0.5):
        print("the recording rules never matched the records; last differences:")
        print("\n".join("  " + p for p in problems))
        diagnose(prom, record_paths["n1-a"])
        return 1
    print("running jobs: %d figures of the recording rules match the records (after %.1f s)" %
          (compared, time.monotonic() - checked))

    # 2. The jobs end (a batch system's SIGTERM, forwarded to the payload):
    # their textfiles go, and with them their series; the hour's score-hours
    # keep them.
    # At least MIN_JOB_S of each job, so that the part Prometheus cannot see
    # (after its last scrape) is a small part of it.
    time.sleep(max(0.0, jobs_started + MIN_JOB_S - time.monotonic()))
    for job, p in job_procs.items():
        procs.stop(p)
    left = [j for j in job_specs if os.path.exists(os.path.join(tmp, job_specs[j][0], "textfile", j + ".prom"))]
    if left:
        print("textfiles left after the jobs ended: %s" % left)
        return 1
    finals = {j: read_record(p)[0] for j, p in record_paths.items()}

    def released():
        held = prom.latest("site:gpukit_gpus_held:sum")
        series = prom.get("/api/v1/query", query='count(gpukit_gpu_held_ratio{job_id!=""})')["data"]["result"]
        return held and all(v == 0 for _, v in held.values()) and not series
    if not wait_for(released, 15):
        print("the ended jobs' series are still scraped: %s" % prom.latest("site:gpukit_gpus_held:sum"))
        return 1
    score_by_user = {}
    for account in finals.values():
        for d in account["normalised"]["gpu"]["devices"]:
            if d["score_hours"] is not None:
                user = account["identity"]["user"]
                score_by_user[user] = score_by_user.get(user, 0) + d["score_hours"]
    got = {dict(k)["user"]: v for k, (_, v) in prom.latest("user:gpukit_gpu_score_hours:increase1h").items()}
    for user, want in score_by_user.items():
        # The last interval before the end is not scraped; half a scrape is extrapolated.
        if user not in got or not close(got[user], want, ENDED_TOLERANCE):
            print("after the end: score-hours of %s = %s, the final records say %.6g" % (user, got.get(user), want))
            return 1
    print("ended jobs: textfiles removed, series gone, hour score-hours kept (%s)" %
          ", ".join("%s %.5f" % (u, got[u]) for u in sorted(score_by_user)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
