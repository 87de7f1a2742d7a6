#!/usr/bin/env python3
"""Check that many runs each hold one metric's every step exactly once, with MLflow's client.

Usage: mlflow_team_check.py TRACKING_URI SPEC.json

SPEC: {"experiment": name, "runs": count, "metric": key, "steps": N, "divisor": d}
Every run of the experiment (exactly `runs` of them) must hold `metric` at steps 0..N-1,
each step once, with the value step / d. Prints the total points and
'mlflow_team_check: OK', or FAIL lines and exits 1.
"""
import json
import sys

from mlflow.tracking import MlflowClient


def main():
    uri, spec = sys.argv[1], json.load(open(sys.argv[2]))
    client = MlflowClient(tracking_uri=uri)
    exp = client.get_experiment_by_name(spec["experiment"])
    fails = []
    if exp is None:
        fails.append(f"experiment {spec['experiment']!r} not found")
        runs = []
    else:
        runs = client.search_runs([exp.experiment_id], max_results=1000)
    if len(runs) != spec["runs"]:
        fails.append(f"{len(runs)} runs, want {spec['runs']}")
    total = 0
    for run in runs:
        history = client.get_metric_history(run.info.run_id, spec["metric"])
        total += len(history)
        got = sorted((m.step, m.value) for m in history)
        want = [(s, s / spec["divisor"]) for s in range(spec["steps"])]
        if got != want:
            steps = [s for s, _ in got]
            dup = len(steps) - len(set(steps))
            fails.append(f"run {run.info.run_name}: {len(got)} points ({dup} repeated steps), "
                         f"want {len(want)}")
    print(f"points={total}")
    for f in fails:
        print("FAIL:", f)
    print("mlflow_team_check: OK" if not fails else f"mlflow_team_check: {len(fails)} failure(s)")
    return 0 if not fails else 1


if __name__ == "__main__":
    sys.exit(main())
