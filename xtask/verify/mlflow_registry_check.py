#!/usr/bin/env python3
"""Check a registered model and its versions with MLflow's own client.

Usage: mlflow_registry_check.py TRACKING_URI SPEC.json

SPEC: {"model": name, "versions": count,
       "check": [{"version": "1", "run_id": id, "source": uri, "tags": {key: value},
                  "content": text}, ...]}
`versions`: how many versions `search_model_versions("name='…'")` must find (no duplicate
from registering twice). Each `check` entry is read with `get_model_version`: its run id,
source and the tags given must be as written (other tags may exist), and `content` is what
the file at its source must hold, downloaded with `mlflow.artifacts.download_artifacts`
(through the proxy, or from S3 with MLFLOW_S3_ENDPOINT_URL and the AWS variables).
Prints 'mlflow_registry_check: OK', or FAIL lines and exits 1.
"""
import json
import os
import sys
import tempfile

import mlflow
from mlflow.tracking import MlflowClient


def main():
    uri, spec = sys.argv[1], json.load(open(sys.argv[2]))
    mlflow.set_tracking_uri(uri)
    client = MlflowClient(tracking_uri=uri)
    name = spec["model"]
    fails = []
    found = client.search_model_versions(f"name='{name}'")
    if len(found) != spec["versions"]:
        fails.append(f"{len(found)} versions of {name!r}, want {spec['versions']}: "
                     f"{[(v.version, v.source) for v in found]}")
    for want in spec.get("check", []):
        version = client.get_model_version(name, want["version"])
        label = f"{name} v{want['version']}"
        if version.run_id != want["run_id"]:
            fails.append(f"{label}: run_id {version.run_id!r}, want {want['run_id']!r}")
        if version.source != want["source"]:
            fails.append(f"{label}: source {version.source!r}, want {want['source']!r}")
        for key, value in want.get("tags", {}).items():
            if version.tags.get(key) != value:
                fails.append(f"{label}: tag {key} = {version.tags.get(key)!r}, want {value!r}")
        if "content" in want:
            with tempfile.TemporaryDirectory() as dst:
                path = mlflow.artifacts.download_artifacts(artifact_uri=version.source,
                                                           dst_path=dst)
                if os.path.isdir(path):
                    fails.append(f"{label}: its source is a folder, want the checkpoint file")
                else:
                    got = open(path).read()
                    if got != want["content"]:
                        fails.append(f"{label}: the file at its source holds {got[:80]!r}, "
                                     f"want {want['content'][:80]!r}")
    for f in fails:
        print("FAIL:", f)
    print("mlflow_registry_check: OK" if not fails
          else f"mlflow_registry_check: {len(fails)} failure(s)")
    return 0 if not fails else 1


if __name__ == "__main__":
    sys.exit(main())
