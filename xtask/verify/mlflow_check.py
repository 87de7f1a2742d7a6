#!/usr/bin/env python3
"""Read runs back with the real MLflow client and compare them with what labbook logged.

Usage: mlflow_check.py TRACKING_URI SPEC.json

SPEC is a JSON object written by labbook's tests:
  experiment     name of the MLflow experiment (required)
  run_name       the run to check, found by name in the experiment (required)
  runs           how many runs the experiment must hold (optional: no duplicate runs)
  experiment_tags {key: value}   the experiment's tags, exact values
  status         FINISHED / FAILED / KILLED / RUNNING
  params         {key: value}      exact values
  absent_params  [key, ...]        must not be set
  tags           {key: value}      exact values
  absent_tags    [key, ...]        must not be set
  metrics        {key: [[step, value], ...]}  every point, no more, no fewer; value may be
                 a number or "NaN", "Infinity", "-Infinity" (infinities also match the
                 +/-DBL_MAX that SQL stores keep)
  artifacts      {path: text or null}  the file exists (and holds exactly this text)
  artifact_sizes {path: bytes}
Credentials come from MLFLOW_TRACKING_USERNAME/PASSWORD or MLFLOW_TRACKING_TOKEN.
Prints 'mlflow_check: OK' and exits 0, or FAIL lines and exits 1.
"""
import json
import math
import os
import sys
import tempfile

import mlflow
from mlflow.tracking import MlflowClient

WORDS = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def number(value):
    return WORDS[value] if isinstance(value, str) else float(value)


def same(got, want):
    if math.isnan(want):
        return math.isnan(got)
    if math.isinf(want) and abs(got) == sys.float_info.max:
        got = math.copysign(math.inf, got)
    return got == want


def check(client, spec, fails):
    exp = client.get_experiment_by_name(spec["experiment"])
    if exp is None:
        fails.append(f"experiment {spec['experiment']!r} not found")
        return
    for key, want in spec.get("experiment_tags", {}).items():
        if exp.tags.get(key) != want:
            fails.append(f"experiment tag {key} = {exp.tags.get(key)!r}, want {want!r}")
    runs = client.search_runs([exp.experiment_id], max_results=1000)
    if "runs" in spec and len(runs) != spec["runs"]:
        fails.append(f"experiment holds {len(runs)} runs, want {spec['runs']}: "
                     f"{[r.info.run_name for r in runs]}")
    named = [r for r in runs if r.info.run_name == spec["run_name"]]
    if len(named) != 1:
        fails.append(f"{len(named)} runs named {spec['run_name']!r}, want 1")
        if not named:
            return
    run = named[0]
    rid = run.info.run_id
    print(f"run_id={rid} status={run.info.status}")
    if "status" in spec and run.info.status != spec["status"]:
        fails.append(f"status: want {spec['status']}, got {run.info.status}")
    for k, v in spec.get("params", {}).items():
        if run.data.params.get(k) != v:
            got = run.data.params.get(k)
            fails.append(f"param {k}: want {v[:200]!r}, got {got[:200] if got else got!r}")
    for k in spec.get("absent_params", []):
        if k in run.data.params:
            fails.append(f"param {k} should be absent, got {run.data.params[k]!r}")
    for k, v in spec.get("tags", {}).items():
        if run.data.tags.get(k) != v:
            fails.append(f"tag {k}: want {v!r}, got {run.data.tags.get(k)!r}")
    for k in spec.get("absent_tags", []):
        if k in run.data.tags:
            fails.append(f"tag {k} should be absent, got {run.data.tags[k]!r}")
    for key, points in spec.get("metrics", {}).items():
        history = client.get_metric_history(rid, key)
        got = sorted((m.step, m.value) for m in history)
        want = sorted((int(s), number(v)) for s, v in points)
        if len(got) != len(want):
            fails.append(f"metric {key}: {len(got)} points, want {len(want)}")
        bad = [(w, g) for w, g in zip(want, got) if w[0] != g[0] or not same(g[1], w[1])]
        if bad:
            fails.append(f"metric {key}: {len(bad)} points differ, first want {bad[0][0]} got {bad[0][1]}")
    arts = {**{p: None for p in spec.get("artifact_sizes", {})}, **spec.get("artifacts", {})}
    for path, content in arts.items():
        with tempfile.TemporaryDirectory() as d:
            try:
                local = client.download_artifacts(rid, path, d)
            except Exception as e:  # noqa: BLE001 - any failure to download is a failure
                fails.append(f"artifact {path}: {type(e).__name__}: {str(e)[:200]}")
                continue
            data = open(local, "rb").read()
            if content is not None and data.decode("utf-8", "replace") != content:
                fails.append(f"artifact {path}: holds {data[:100]!r}, want {content[:100]!r}")
            size = spec.get("artifact_sizes", {}).get(path)
            if size is not None and len(data) != size:
                fails.append(f"artifact {path}: {len(data)} bytes, want {size}")


def main():
    uri, spec_path = sys.argv[1], sys.argv[2]
    spec = json.load(open(spec_path))
    # mlflow-artifacts:/ URIs resolve through the global tracking URI.
    mlflow.set_tracking_uri(uri)
    fails = []
    check(MlflowClient(tracking_uri=uri), spec, fails)
    for f in fails:
        print("FAIL:", f)
    print("mlflow_check: OK" if not fails else f"mlflow_check: {len(fails)} failure(s)")
    return 0 if not fails else 1


if __name__ == "__main__":
    sys.exit(main())
