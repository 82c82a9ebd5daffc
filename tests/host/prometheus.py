#!/usr/bin/env python3
"""mig-top's Prometheus metrics, read back through the real Prometheus.

mig-top replays a recording of migrations made in the guest
(tests/host/data/migrations.events, see record-migrations.sh) twice: once
writing its metrics for node_exporter's textfile collector (--prom-file) and
once serving them itself (--prom-listen). Debian's prometheus-node-exporter
and prometheus run on loopback (ports of their own, data in a temporary
directory); Prometheus scrapes both. PromQL queries over the HTTP API must
give, for both paths, the numbers of mig-top's JSON for the same replay:
the migration counts, every downtime bucket, downtime quantiles (against
the same interpolation done here on the JSON downtimes), the downtime and
part sums, bytes per phase, precopy iterations, errors, events and drops.
`promtool check metrics` must accept the exposition. A recording cut in the
middle of a migration must show it in vfmig_devices_migrating.

  tests/host/prometheus.py [RECORDING]     exit 0 pass, 1 fail, 77 skip
"""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MIG_TOP = os.environ.get("MIG_TOP", os.path.join(REPO, "build/bin/mig-top"))
REC = sys.argv[1] if len(sys.argv) > 1 else os.path.join(REPO, "tests/host/data/migrations.events")
RULES = os.path.join(REPO, "packaging/vfmig-alerts.yml")
PARTS = ["source_suspend", "final_save", "drain", "target_load", "target_resume"]
PART_ROLE = {"source_suspend": "source", "final_save": "source", "drain": "source",
             "target_load": "target", "target_resume": "target"}
fails = 0


def check(ok, what, detail=""):
    global fails
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        fails += 1
        if detail:
            print("     " + detail.strip().replace("\n", "\n     "))


def close(a, b):
    return abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def replay_json(rec):
    out = subprocess.run([MIG_TOP, "-j", "-r", rec], check=True, capture_output=True, text=True).stdout
    objs = [json.loads(line) for line in out.splitlines() if line.strip()]
    return ([o for o in objs if o["type"] == "migration"], [o for o in objs if o["type"] == "device"],
            [o for o in objs if o["type"] == "summary"][0])


def parse_exposition(text):
    """{(name, frozenset(labels)): value} of a text exposition."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$', line)
        assert m, f"bad exposition line: {line}"
        labels = frozenset(re.findall(r'([a-zA-Z_]+)="((?:[^"\\]|\\.)*)"', m.group(2) or ""))
        out[(m.group(1), labels)] = float(m.group(3))
    return out


def quantile(q, bounds, downtimes_ns):
    """Prometheus' histogram_quantile over buckets bounds (+Inf last)."""
    cum = [sum(1 for d in downtimes_ns if d <= round(b * 1e9)) for b in bounds] + [len(downtimes_ns)]
    ub = list(bounds) + [float("inf")]
    rank = q * cum[-1]
    b = next(i for i in range(len(cum)) if i == len(cum) - 1 or cum[i] >= rank)
    if b == len(cum) - 1:
        return ub[-2]
    start, count = 0.0, cum[b]
    if b > 0:
        start, count, rank = ub[b - 1], cum[b] - cum[b - 1], rank - cum[b - 1]
    return start + (ub[b] - start) * (rank / count)


class Prom:
    def __init__(self, port):
        self.base = f"http://127.0.0.1:{port}"

    def query(self, expr):
        url = self.base + "/api/v1/query?" + urllib.parse.urlencode({"query": expr})
        with urllib.request.urlopen(url, timeout=10) as r:
            d = json.load(r)
        assert d["status"] == "success", d
        return d["data"]["result"]

    def scalar(self, expr):
        r = self.query(expr)
        return float(r[0]["value"][1]) if len(r) == 1 else None


def main():
    for tool in ("prometheus", "prometheus-node-exporter", "promtool"):
        if not shutil.which(tool):
            print(f"SKIP: {tool} not installed (make deps)")
            return 77
    if not os.access(MIG_TOP, os.X_OK):
        print(f"FAIL: {MIG_TOP} missing (make)")
        return 1
    tmp = tempfile.mkdtemp(prefix="vfmig-prom.")
    procs = []
    try:
        return run(tmp, procs)
    finally:
        for p in procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
                try:
                    p.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    os.killpg(p.pid, signal.SIGKILL)
                    p.wait()
        shutil.rmtree(tmp, ignore_errors=True)


def start(procs, argv, log):
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                         start_new_session=True)
    procs.append(p)
    return p


def run(tmp, procs):
    migs, devs, summary = replay_json(REC)
    print(f"# {REC}: {len(migs)} migrations, {summary['events']} events in mig-top's JSON")
    check(len(migs) >= 3, "the recording has migrations to count")

    # 1. --prom-file into node_exporter's textfile directory.
    tdir = os.path.join(tmp, "textfile")
    os.mkdir(tdir)
    prom_file = os.path.join(tdir, "vfmig.prom")
    subprocess.run([MIG_TOP, "-q", "-r", REC, "--prom-file", prom_file], check=True)
    check(sorted(os.listdir(tdir)) == ["vfmig.prom"], "--prom-file left only vfmig.prom (the temporary file renamed)")
    with open(prom_file) as f:
        text = f.read()
    lint = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, text=True)
    check(lint.returncode == 0 and not lint.stdout.strip() and not lint.stderr.strip(),
          "promtool check metrics accepts the exposition" + (": " + lint.stdout + lint.stderr if lint.returncode else ""))

    # 2. --prom-listen: mig-top serves the same replay itself.
    logs = open(os.path.join(tmp, "procs.log"), "w")
    mt_err = open(os.path.join(tmp, "mig-top.err"), "w+")
    mt = start(procs, [MIG_TOP, "-q", "-r", REC, "--prom-listen", "127.0.0.1:0"], mt_err)
    addr = None
    deadline = time.monotonic() + 60    # a hang guard, not a timing assertion
    while addr is None and time.monotonic() < deadline and mt.poll() is None:
        mt_err.seek(0)
        m = re.search(r"metrics on http://([0-9.]+:[0-9]+)/metrics", mt_err.read())
        addr = m.group(1) if m else time.sleep(0.1)
    check(addr is not None, f"mig-top --prom-listen printed its address ({addr})")
    if addr is None:
        return 1
    with urllib.request.urlopen(f"http://{addr}/metrics", timeout=10) as r:
        served = r.read().decode()
        ctype = r.headers.get("Content-Type", "")
    check(parse_exposition(served) == parse_exposition(text),
          "GET /metrics serves the same series and values as --prom-file")
    check(ctype.startswith("text/plain; version=0.0.4"), f"Content-Type {ctype}")
    try:
        urllib.request.urlopen(f"http://{addr}/other", timeout=10)
        check(False, "GET /other is 404")
    except urllib.error.HTTPError as e:
        check(e.code == 404, f"GET /other is {e.code}")

    # 3. node_exporter (textfile collector only) and Prometheus, on loopback.
    ne_port, prom_port = free_port(), free_port()
    start(procs, ["prometheus-node-exporter", f"--web.listen-address=127.0.0.1:{ne_port}",
                  "--collector.disable-defaults", "--collector.textfile",
                  f"--collector.textfile.directory={tdir}"], logs)
    cfg = os.path.join(tmp, "prometheus.yml")
    with open(cfg, "w") as f:
        f.write(f"""global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: ["{RULES}"]
scrape_configs:
  - job_name: node
    static_configs: [{{targets: ["127.0.0.1:{ne_port}"]}}]
  - job_name: mig-top
    static_configs: [{{targets: ["{addr}"]}}]
""")
    start(procs, ["prometheus", f"--config.file={cfg}", f"--storage.tsdb.path={tmp}/tsdb",
                  f"--web.listen-address=127.0.0.1:{prom_port}", "--log.level=warn"], logs)
    prom = Prom(prom_port)
    got = None
    deadline = time.monotonic() + 180   # a hang guard: TSDB start, first scrapes
    while time.monotonic() < deadline:
        try:
            got = prom.scalar("count(vfmig_migrations_total)")
        except (OSError, AssertionError):
            got = None
        if got == 2:
            break
        time.sleep(0.5)
    check(got == 2, "Prometheus scraped vfmig_migrations_total from node_exporter and from mig-top")
    if got != 2:
        logs.flush()
        print(open(os.path.join(tmp, "procs.log")).read()[-3000:])
        return 1

    # The shipped alerting rules load and evaluate against these series.
    r = subprocess.run(["promtool", "check", "rules", RULES], capture_output=True, text=True)
    check(r.returncode == 0, "promtool check rules accepts packaging/vfmig-alerts.yml", r.stdout + r.stderr)
    rules = []
    deadline = time.monotonic() + 60    # a hang guard: the first evaluations
    while time.monotonic() < deadline:
        with urllib.request.urlopen(prom.base + "/api/v1/rules", timeout=10) as resp:
            rules = [x for g in json.load(resp)["data"]["groups"] for x in g["rules"]]
        if rules and all(x.get("health") == "ok" for x in rules):
            break
        time.sleep(0.5)
    check(len(rules) >= 5 and all(x.get("health") == "ok" for x in rules),
          f"Prometheus evaluates the {len(rules)} alerting rules without error",
          "; ".join(f"{x['name']}: {x.get('health')} {x.get('lastError', '')}" for x in rules))
    n = prom.query('node_textfile_mtime_seconds{file=~".*vfmig\\\\.prom"}')
    check(len(n) == 1, "node_textfile_mtime_seconds matches vfmig.prom (VfmigExporterStale's selector)")

    down = [m["downtime_ns"] for m in migs]
    for job in ("node", "mig-top"):
        sel = f'job="{job}",driver="vfmig"'
        check(prom.scalar(f"vfmig_migrations_total{{{sel}}}") == len(migs),
              f"[{job}] vfmig_migrations_total == {len(migs)} migrations in the JSON")
        check(prom.scalar(f"vfmig_migrations_precopy_total{{{sel}}}") == sum(m["precopy"] for m in migs),
              f"[{job}] vfmig_migrations_precopy_total == JSON migrations with precopy")
        check(prom.scalar(f"vfmig_downtime_seconds_count{{{sel}}}") == len(migs),
              f"[{job}] vfmig_downtime_seconds_count == {len(migs)}")
        s = prom.scalar(f"vfmig_downtime_seconds_sum{{{sel}}}")
        check(close(s, sum(down) / 1e9), f"[{job}] vfmig_downtime_seconds_sum {s} == JSON {sum(down) / 1e9}")
        buckets = {float(r["metric"]["le"]): float(r["value"][1])
                   for r in prom.query(f"vfmig_downtime_seconds_bucket{{{sel}}}")}
        bounds = sorted(b for b in buckets if b != float("inf"))
        bad = [b for b in bounds if buckets[b] != sum(1 for d in down if d <= round(b * 1e9))]
        check(len(bounds) >= 10 and not bad and buckets[float("inf")] == len(down),
              f"[{job}] each of {len(bounds)} downtime buckets counts the JSON downtimes <= le" +
              (f" (wrong: {bad})" if bad else ""))
        for q in (0.5, 0.9, 0.99):
            v = prom.scalar(f"histogram_quantile({q}, sum by (le) (vfmig_downtime_seconds_bucket{{{sel}}}))")
            want = quantile(q, bounds, down)
            check(close(v, want), f"[{job}] downtime p{int(q * 100)} from PromQL {v:.6f} s == from the JSON {want:.6f} s")
        for part in PARTS:
            lab = f'{sel},part="{part}",role="{PART_ROLE[part]}"'
            s = prom.scalar(f"vfmig_downtime_part_seconds_sum{{{lab}}}")
            want = sum(m["parts"][part + "_ns"] for m in migs) / 1e9
            check(s is not None and close(s, want), f"[{job}] {part} (role {PART_ROLE[part]}) seconds {s} == JSON {want}")
        for role, phase, key in (("source", "precopy", "precopy"), ("source", "stop_copy", "stop_copy"),
                                 ("target", "resuming", "written")):
            v = prom.scalar(f'vfmig_migration_bytes_total{{{sel},role="{role}",phase="{phase}"}}')
            want = sum(m["bytes"][key] for m in migs)
            check(v == want, f"[{job}] bytes {role}/{phase} {v:.0f} == JSON {want}")
        v = prom.scalar(f"vfmig_precopy_iterations_total{{{sel}}}")
        check(v == sum(m["precopy_iterations"] for m in migs), f"[{job}] precopy iterations {v:.0f} == JSON")
        with open(REC) as f:
            nerr = sum(1 for line in f if line.split()[1:2] == ["error"])
        v = prom.scalar(f"sum(vfmig_errors_total{{{sel}}})")
        check(v == nerr, f"[{job}] errors {v:.0f} == {nerr} error events in the recording")
        v = prom.scalar(f'sum(vfmig_errors_total{{{sel},role!="none"}})')
        check(v >= sum(m["errors"] for m in migs), f"[{job}] errors of migrating devices >= JSON migration errors")
        check(prom.scalar(f"vfmig_events_total{{{sel}}}") == summary["events"], f"[{job}] events == JSON summary")
        check(prom.scalar(f"vfmig_dropped_events_total{{{sel}}}") == summary["drops"], f"[{job}] drops == JSON summary")
        check(prom.scalar(f"vfmig_devices{{{sel}}}") == len(devs), f"[{job}] devices == JSON device objects")
        check(prom.scalar(f"sum(vfmig_devices_migrating{{{sel}}})") == 0, f"[{job}] no device migrating at the end")

    # 4. A recording cut while a migration runs: its devices are migrating.
    with open(REC) as f:
        lines = f.readlines()
    cut = next(i for i, line in enumerate(lines)
               if line.split()[1:2] == ["state_step"] and line.split()[7] == "6")   # to PRE_COPY
    part = os.path.join(tmp, "cut.events")
    with open(part, "w") as f:
        f.writelines(lines[:cut + 1])
    _, cdevs, _ = replay_json(part)
    subprocess.run([MIG_TOP, "-q", "-r", part, "--prom-file", prom_file], check=True)
    with open(prom_file) as f:
        e = parse_exposition(f.read())
    g = {r: e[("vfmig_devices_migrating", frozenset({("driver", "vfmig"), ("role", r)}))] for r in ("source", "target")}
    want = {"source": sum(1 for d in cdevs if d["role"] == "source" and d["state"] in ("PRE_COPY", "PRE_COPY_P2P", "STOP_COPY")),
            "target": sum(1 for d in cdevs if d["role"] == "target" and d["state"] in ("RESUMING", "STOP", "RUNNING_P2P"))}
    check(g == want and g["source"] == 1, f"cut at a source's PRE_COPY: vfmig_devices_migrating {g} == JSON {want}")
    print(f"# {fails} check(s) failed")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
