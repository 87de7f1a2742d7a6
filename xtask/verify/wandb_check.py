#!/usr/bin/env python3
"""Check a W&B offline run that labbook wrote, with the real `wandb` package (pinned 0.31).

Usage: wandb_check.py RUN_DIR SPEC.json [--dump]

RUN_DIR is an offline-run-*/ folder (or its run-<id>.wandb file). SPEC.json says what the
run must hold; every key is optional:
  {"run_id": "...", "project": "...", "entity": "...", "name": "...", "tags": [...],
   "group": "...", "notes": "...",    the run's group and notes, as the last run record says
   "config": {key: value},            subset of the run's config
   "history": [{key: value}, ...],    every row, in order: its keys besides _step,
                                      _runtime and _timestamp, exactly (NaN/Infinity ok)
   "summary": {key: value},           subset of the final summary
   "metrics": [key, ...],             keys defined with step_metric labbook/step
   "stats": {key: [value, ...]},      every value of the key in the system `stats` records
                                      (W&B's "System" section), in order, each with a time
   "exit_code": 0, "state": "finished", "console": "text in the console tail",
   "resumed": true, "first_step": 2}   the run record's resumed flag; the first row's _step
Checks, in order:
 1. A strict pass over the framing (ours): the ':W&B' 0xBEE1 v0 header, 32 KiB blocks,
    CRC-32/IEEE over type byte + payload, FULL/FIRST/MIDDLE/LAST order, zero trailers.
    Each record is decoded with wandb's generated wandb_internal_pb2.Record; unknown
    fields are an error (a wrong field number). `num` must count 1, 2, 3, ...
 2. The real reader: `wandb leet inspect FILE --json` and `--summary --json` (wandb-core,
    offline, no login) must exit 0, say nothing about corrupt data, and see as many
    records as step 1.
 3. The spec, against the reader's rows: history rows and _step 0, 1, 2, ... (from first_step); config,
    summary, state and exit code from the summary view; every image the history names
    exists under files/ with its sha256 and size; histograms have len(bins) == len(values)+1.
Prints 'wandb_check: OK' and exits 0, or FAIL lines and exits 1.
"""
import argparse
import glob
import hashlib
import json
import math
import os
import shutil
import struct
import subprocess
import sys
import zlib

from google.protobuf import unknown_fields
from wandb.proto import wandb_internal_pb2 as pb

BLOCK, HDR = 32768, 7
INTERNAL = {"_step", "_runtime", "_timestamp"}


def has_unknown(msg):
    if len(unknown_fields.UnknownFieldSet(msg)):
        return True
    for fd, val in msg.ListFields():
        if fd.message_type is None or fd.message_type.GetOptions().map_entry:
            continue
        for sub in (val if fd.is_repeated else [val]):
            if has_unknown(sub):
                return True
    return False


def read_log(path):
    """Strict framing pass; returns (records, errors)."""
    errs, payloads = [], []
    data = open(path, "rb").read()
    if data[:7] != struct.pack("<4sHB", b":W&B", 0xBEE1, 0):
        return [], [f"bad file header {data[:7]!r}"]
    pos, buf, in_multi = 7, b"", False
    while pos < len(data):
        left = BLOCK - pos % BLOCK
        if left < HDR:
            if data[pos:pos + left].strip(b"\x00"):
                errs.append(f"@{pos}: non-zero block trailer")
            pos += left
            continue
        if len(data) - pos < HDR:
            errs.append(f"@{pos}: truncated chunk header")
            break
        crc, n, typ = struct.unpack("<IHB", data[pos:pos + HDR])
        if pos % BLOCK + HDR + n > BLOCK:
            errs.append(f"@{pos}: chunk crosses a block boundary")
            break
        body = data[pos + HDR:pos + HDR + n]
        if len(body) != n:
            errs.append(f"@{pos}: truncated chunk payload")
            break
        if crc != zlib.crc32(bytes([typ]) + body) & 0xFFFFFFFF:
            errs.append(f"@{pos}: CRC mismatch (CRC-32/IEEE over type byte + payload)")
            break
        pos += HDR + n
        if typ == 1 and not in_multi:
            payloads.append(body)
        elif typ == 2 and not in_multi:
            buf, in_multi = body, True
        elif typ == 3 and in_multi:
            buf += body
        elif typ == 4 and in_multi:
            payloads.append(buf + body)
            buf, in_multi = b"", False
        else:
            errs.append(f"@{pos}: chunk type {typ} out of order")
            break
    if in_multi:
        errs.append("the file ends inside a record")
    recs = []
    for i, p in enumerate(payloads):
        r = pb.Record()
        try:
            r.ParseFromString(p)
        except Exception as e:  # noqa: BLE001
            errs.append(f"record {i + 1}: protobuf parse error {e}")
            continue
        if has_unknown(r):
            errs.append(f"record {i + 1}: unknown protobuf fields (wrong field number or type?)")
        if r.num != i + 1:
            errs.append(f"record {i + 1}: num={r.num}")
        recs.append(r)
    return recs, errs


def leet(path, *extra):
    exe = shutil.which("wandb") or os.path.join(os.path.dirname(sys.executable), "wandb")
    env = dict(os.environ, WANDB_MODE="offline", WANDB_SILENT="true")
    p = subprocess.run([exe, "leet", "inspect", path, "--json", *extra],
                       capture_output=True, text=True, env=env, timeout=120)
    errs = []
    if p.returncode != 0:
        errs.append(f"wandb leet inspect {' '.join(extra)} rc={p.returncode}: {p.stderr.strip()[:300]}")
    if "corrupt" in p.stderr.lower() or "error" in p.stderr.lower():
        errs.append(f"wandb leet inspect {' '.join(extra)} stderr: {p.stderr.strip()[:300]}")
    return p.stdout, errs


def same(a, b, tol=1e-9):
    """`a` (what the reader saw) matches `b` (what the spec wants), reading leet's "NaN"/"Infinity" strings as numbers and floats with a tolerance."""
    a = float(a) if a in ("NaN", "Infinity", "-Infinity") else a
    b = float(b) if b in ("NaN", "Infinity", "-Infinity") else b
    if isinstance(a, dict) and isinstance(b, dict):  # b's keys must be in a (media values)
        return all(k in a and same(a[k], b[k]) for k in b)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return a == b or abs(a - b) <= tol * max(1.0, abs(b))
    return a == b


def check_media(run_dir, key, value, fails):
    if not isinstance(value, dict):
        return
    if value.get("_type") == "image-file":
        path = os.path.join(run_dir, "files", value.get("path", ""))
        if not os.path.isfile(path):
            fails.append(f"image {key}: {value.get('path')} is not under files/")
            return
        data = open(path, "rb").read()
        if hashlib.sha256(data).hexdigest() != value.get("sha256") or len(data) != value.get("size"):
            fails.append(f"image {key}: sha256/size do not match {path}")
        if not data.startswith(b"\x89PNG"):
            fails.append(f"image {key}: {path} is not a PNG")
    if value.get("_type") == "histogram":
        if len(value.get("bins", [])) != len(value.get("values", [])) + 1:
            fails.append(f"histogram {key}: {len(value.get('bins', []))} bins for "
                         f"{len(value.get('values', []))} values")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("run_dir")
    ap.add_argument("spec")
    ap.add_argument("--dump", action="store_true")
    a = ap.parse_args()
    spec = json.load(open(a.spec))
    path, run_dir = a.run_dir, a.run_dir
    if os.path.isdir(path):
        found = glob.glob(os.path.join(path, "run-*.wandb"))
        if len(found) != 1:
            print(f"FAIL: expected one run-*.wandb in {path}, found {found}")
            return 1
        path = found[0]
    else:
        run_dir = os.path.dirname(path)

    recs, fails = read_log(path)
    out, errs = leet(path)
    fails += errs
    rows = [json.loads(line) for line in out.splitlines() if line.strip()]
    if len(rows) != len(recs):
        fails.append(f"wandb leet inspect saw {len(rows)} records, the strict pass {len(recs)}")
    out, errs = leet(path, "--summary")
    fails += errs
    view = json.loads(out) if out.strip() else {}
    if a.dump:
        for row in rows:
            print(json.dumps(row)[:300])
        print(json.dumps(view)[:2000])

    kinds = [r.get("type") for r in rows]
    runs_seen = [r["run"] for r in rows if r.get("type") == "run"]
    if "run" not in kinds or ("history" in kinds and kinds.index("history") < kinds.index("run")):
        fails.append("no run record before the first history row")
    for key, got in (("run_id", view.get("run_id")), ("project", view.get("project")),
                     ("entity", view.get("entity")), ("name", view.get("name")),
                     ("tags", view.get("tags")), ("group", runs_seen[-1].get("run_group") if runs_seen else None),
                     ("notes", view.get("notes")), ("exit_code", view.get("exit_code")),
                     ("state", view.get("state"))):
        if key in spec and spec[key] != got:
            fails.append(f"{key}: want {spec[key]!r}, got {got!r}")
    resumed = bool(runs_seen and runs_seen[0].get("resumed"))
    if "resumed" in spec and resumed != spec["resumed"]:
        fails.append(f"resumed: want {spec['resumed']}, got {resumed}")
    if "console" in spec and spec["console"] not in json.dumps(view.get("console", [])):
        fails.append(f"console: {spec['console']!r} not in {view.get('console')!r}")

    history = [r["history"]["item"] for r in rows if r.get("type") == "history"]
    if "history" in spec:
        want_rows = spec["history"]
        if len(history) != len(want_rows):
            fails.append(f"{len(history)} history rows, want {len(want_rows)}")
        first = spec.get("first_step", 0)
        for i, (got, want) in enumerate(zip(history, want_rows)):
            if got.get("_step") != first + i:
                fails.append(f"row {i}: _step={got.get('_step')!r}")
            for k in ("_runtime", "_timestamp"):
                if not isinstance(got.get(k), (int, float)):
                    fails.append(f"row {i}: {k}={got.get(k)!r}")
            visible = {k: v for k, v in got.items() if k not in INTERNAL}
            if visible.keys() != want.keys() or not same(visible, want):
                fails.append(f"row {i}: want {want!r}, got {visible!r}"[:400])
    for row in history:
        for key, value in row.items():
            check_media(run_dir, key, value, fails)

    for key, want in spec.get("config", {}).items():
        got = view.get("config", {}).get(key, "<missing>")
        if not same(got, want):
            fails.append(f"config {key}: want {want!r}, got {got!r}"[:300])
    for key, want in spec.get("summary", {}).items():
        got = view.get("summary", {}).get(key, "<missing>")
        if not same(got, want):
            fails.append(f"summary {key}: want {want!r}, got {got!r}"[:300])
    stats = [r["stats"] for r in rows if r.get("type") == "stats"]
    for key, want in spec.get("stats", {}).items():
        got = [record["item"][key] for record in stats if key in record.get("item", {})]
        if not same(got, want):
            fails.append(f"stats {key}: want {want!r}, got {got!r}"[:400])
    stamps = [r.stats.timestamp.seconds for r in recs if r.WhichOneof("record_type") == "stats"]
    if "stats" in spec and not (stamps and all(stamps) and stamps == sorted(stamps)):
        fails.append(f"stats records' timestamps {stamps}: want one each, in order")
    defined = {r["metric"].get("name"): r["metric"].get("step_metric")
               for r in rows if r.get("type") == "metric"}
    for key in spec.get("metrics", []):
        if defined.get(key) != "labbook/step":
            fails.append(f"metric {key}: step_metric {defined.get(key)!r}, want 'labbook/step'")

    for f in fails:
        print("FAIL:", f)
    print(f"records={len(recs)} history_rows={len(history)} reader=wandb leet inspect")
    print("wandb_check: OK" if not fails else f"wandb_check: {len(fails)} failure(s)")
    return 0 if not fails else 1


if __name__ == "__main__":
    sys.exit(main())
