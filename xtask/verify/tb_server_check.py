#!/usr/bin/env python3
"""Serve a log directory with the real TensorBoard and check what its HTTP data API returns.

Usage: tb_server_check.py SPEC.json --load-fast=false|true

SPEC is a JSON object (runtime/tests/tensorboard.rs writes it):
  logdir     the directory TensorBoard serves
  scalars    [{"run", "tag", "points": [[step, value], ...]}]: the series that
             GET /data/plugin/scalars/scalars?run=RUN&tag=TAG must return, in order
             (values as 32-bit floats, as TensorBoard keeps scalars; "NaN", "Infinity" and
             "-Infinity" as strings)
  sessions   [{"run", "hparams": {name: value}, "metrics": {tag: value}, "status"}]: the rows
             of the HPARAMS tab (POST /data/plugin/hparams/experiment and /session_groups);
             status is the session's status name, e.g. "STATUS_SUCCESS"

TensorBoard starts on 127.0.0.1 on a free port (`--load_fast=false` reads with the Python
loader, `true` with the bundled Rust data server), and is stopped by its own pid at the end.
Prints `tb_server_check: OK` and exits 0 when every check passes; otherwise `FAIL: ...` lines,
the end of the server's log, and exit 1.
"""
import json
import math
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

import numpy as np

DEADLINE_S = 60


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(base, path, params=None):
    url = base + path + ("?" + urllib.parse.urlencode(params) if params else "")
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


def post(base, path, body):
    request = urllib.request.Request(
        base + path, data=json.dumps(body).encode(), method="POST",
        headers={"Content-Type": "application/json", "X-XSRF-Protected": "1"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def poll(what, fetch, ready):
    """Calls fetch() until ready(result) or the deadline; returns the last result."""
    deadline, result = time.monotonic() + DEADLINE_S, None
    while time.monotonic() < deadline:
        try:
            result = fetch()
            if ready(result):
                return result
        except OSError:
            pass
        time.sleep(0.25)
    raise TimeoutError(f"{what}: not ready after {DEADLINE_S} s (last answer: {result!r})")


def same(a, b):
    """Whether TensorBoard's `a` is `b` as TensorBoard keeps it (a 32-bit float)."""
    a = float(a)
    with np.errstate(over="ignore"):
        b = float(np.float32(float(b)))
    return (math.isnan(a) and math.isnan(b)) or a == b


def check_scalars(base, spec, fails):
    for want in spec.get("scalars", []):
        params = {"run": want["run"], "tag": want["tag"]}
        points = poll(f"scalars {params}",
                      lambda: get(base, "/data/plugin/scalars/scalars", params),
                      lambda p: len(p) >= len(want["points"]))
        got = [(step, value) for _, step, value in points]
        if len(got) != len(want["points"]) or not all(
                s == w[0] and same(v, w[1]) for (s, v), w in zip(got, want["points"])):
            fails.append(f"scalars {params}: got {got}, want {want['points']}")


def check_sessions(base, spec, fails):
    if not spec.get("sessions"):
        return
    runs = {s["run"] for s in spec["sessions"]}
    experiment = poll("hparams experiment",
                      lambda: post(base, "/data/plugin/hparams/experiment",
                                   {"experimentName": "", "includeMetrics": True}),
                      lambda e: len(e.get("metricInfos", [])) > 0)
    columns = [{"hparam": h["name"]} for h in experiment.get("hparamInfos", [])]
    columns += [{"metric": m["name"]} for m in experiment.get("metricInfos", [])]
    request = {"experimentName": "", "colParams": columns, "startIndex": 0, "sliceSize": 1000,
               "includeMetrics": True,
               "allowedStatuses": ["STATUS_UNKNOWN", "STATUS_SUCCESS", "STATUS_FAILURE",
                                   "STATUS_RUNNING"]}
    answer = poll("hparams session groups",
                  lambda: post(base, "/data/plugin/hparams/session_groups", request),
                  lambda a: runs <= {s["name"] for g in a.get("sessionGroups", [])
                                     for s in g.get("sessions", [])})
    rows = {}
    for group in answer.get("sessionGroups", []):
        for session in group.get("sessions", []):
            metrics = {m["name"]["tag"]: m["value"] for m in session.get("metricValues", [])}
            rows[session["name"]] = (group.get("hparams", {}), metrics, session.get("status"))
    for want in spec["sessions"]:
        hparams, metrics, status = rows.get(want["run"], ({}, {}, None))
        if hparams != want["hparams"]:
            fails.append(f"session {want['run']}: hparams {hparams}, want {want['hparams']}")
        for tag, value in want["metrics"].items():
            if tag not in metrics or not same(metrics[tag], value):
                fails.append(f"session {want['run']}: metric {tag} = {metrics.get(tag)}, "
                             f"want {value}")
        if status != want["status"]:
            fails.append(f"session {want['run']}: status {status}, want {want['status']}")


def main():
    spec = json.load(open(sys.argv[1]))
    fast = next((a.split("=", 1)[1] for a in sys.argv[2:] if a.startswith("--load-fast=")),
                "false")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = tempfile.NamedTemporaryFile("w+", prefix="tb_server_", suffix=".log", delete=False)
    server = subprocess.Popen(
        [sys.executable, "-m", "tensorboard.main", "--logdir", spec["logdir"],
         "--host", "127.0.0.1", "--port", str(port), f"--load_fast={fast}",
         "--reload_interval", "1"],
        stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.PIPE)
    fails = []
    try:
        poll("GET /data/runs", lambda: get(base, "/data/runs"), lambda runs: True)
        check_scalars(base, spec, fails)
        check_sessions(base, spec, fails)
    except (TimeoutError, OSError) as e:
        fails.append(str(e))
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    if fails:
        log.seek(0)
        print("".join(log.readlines()[-20:]))
    os.unlink(log.name)
    for f in fails:
        print("FAIL:", f)
    print(f"tb_server_check (load_fast={fast}): " + ("OK" if not fails else f"{len(fails)} failure(s)"))
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
