#!/usr/bin/env python3
"""Check that a large artifact is in the object store whole, byte for byte, and that MLflow lists it.

Usage: s3_object_check.py TRACKING_URI SPEC.json

SPEC: {"run_id": MLflow run id, "artifact": path under the run's artifacts,
       "bucket": name, "key": object key, "size": bytes, "file": the local file,
       "delete": remove the object afterwards (optional)}
Reads the object with boto3 (MLFLOW_S3_ENDPOINT_URL and the AWS variables from the
environment), streaming, and compares its size and SHA-256 with the local file's; then asks
MLflow's client to list the artifact's folder and expects the file there with that size.
Prints the figures and 's3_object_check: OK', or FAIL lines and exits 1.
"""
import hashlib
import json
import os
import posixpath
import sys

import boto3
from mlflow.tracking import MlflowClient


def sha256(chunks):
    digest = hashlib.sha256()
    for chunk in chunks:
        digest.update(chunk)
    return digest.hexdigest()


def main():
    uri, spec = sys.argv[1], json.load(open(sys.argv[2]))
    fails = []
    s3 = boto3.client("s3", endpoint_url=os.environ["MLFLOW_S3_ENDPOINT_URL"])
    head = s3.head_object(Bucket=spec["bucket"], Key=spec["key"])
    if head["ContentLength"] != spec["size"]:
        fails.append(f"object {spec['key']}: {head['ContentLength']} bytes, want {spec['size']}")
    body = s3.get_object(Bucket=spec["bucket"], Key=spec["key"])["Body"]
    stored = sha256(iter(lambda: body.read(8 << 20), b""))
    with open(spec["file"], "rb") as f:
        local = sha256(iter(lambda: f.read(8 << 20), b""))
    if stored != local:
        fails.append(f"object {spec['key']}: sha256 {stored}, the file's is {local}")
    print(f"size={head['ContentLength']} sha256={stored} etag={head.get('ETag')}")

    client = MlflowClient(tracking_uri=uri)
    folder = posixpath.dirname(spec["artifact"])
    listed = {f.path: f.file_size for f in client.list_artifacts(spec["run_id"], folder or None)}
    if listed.get(spec["artifact"]) != spec["size"]:
        fails.append(f"MLflow lists {listed}, want {spec['artifact']} with {spec['size']} bytes")
    if spec.get("delete"):
        s3.delete_object(Bucket=spec["bucket"], Key=spec["key"])
    for f in fails:
        print("FAIL:", f)
    print("s3_object_check: OK" if not fails else f"s3_object_check: {len(fails)} failure(s)")
    return 0 if not fails else 1


if __name__ == "__main__":
    sys.exit(main())
