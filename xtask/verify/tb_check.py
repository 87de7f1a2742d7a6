#!/usr/bin/env python3
"""Check TensorBoard event files against an expected spec, with the real `tensorboard` package.

Usage: tb_check.py SPEC.json [--dump]

SPEC is a JSON object (runtime/tests/tensorboard.rs writes it):
  logdir                the directory TensorBoard is pointed at
  runs                  the run names TensorBoard must find ("." is logdir itself)
  allow_truncated_tail  a file may end inside a record, as a killed writer leaves it
  scalars               {tag: [[step, value, wall_time], ...]}: the whole series, in order;
                        value may be "NaN", "Infinity" or "-Infinity" and must come back
                        exactly, rounded to a 32-bit float as TensorBoard keeps scalars;
                        wall_time is optional
  histograms            {tag: [{"step", "count", "min", "max"}, ...]}
  images                {tag: [{"step", "width", "height", "png_file"}, ...]}  (png_file optional)
  text                  {tag: [{"step", "text"}, ...]}
  hparams               {name: value}: the session start info, exactly
  experiment            {"hparams": [names], "metrics": [tags]}
  session_end_status    1 success, 2 failure
For every kind given, the tags read back must be exactly the tags listed.

Three passes:
 1. Framing: every record of every file whose name contains "tfevents": length, masked
    CRC-32C of the length, payload, masked CRC-32C of the payload, and the payload parsed as
    an Event with tensorboard's own class; the first record must be `brain.Event:2`.
    (TensorBoard's reader stops silently at a bad CRC, so this pass is what catches it.)
 2. tensorboard's RawEventFileLoader reads every file and must yield exactly the whole
    records of pass 1 (for a truncated file: every record before the cut).
 3. tensorboard's plugin_event_multiplexer, the loader its server uses, loads the logdir with
    store-everything size guidance; the expectations are checked against what it returns,
    hparams decoded with the hparams plugin's own metadata parser.
Prints `tb_check: OK` and exits 0 when every check passes; otherwise prints `FAIL: ...`
lines and what was read, and exits 1.
"""
import json
import math
import os
import struct
import sys

import numpy as np

from tensorboard.backend.event_processing import event_file_loader
from tensorboard.backend.event_processing import plugin_event_accumulator as pea
from tensorboard.backend.event_processing import plugin_event_multiplexer as pem
from tensorboard.compat.proto import event_pb2
from tensorboard.compat.tensorflow_stub.pywrap_tensorflow import masked_crc32c
from tensorboard.plugins.hparams import metadata as hparams_metadata
from tensorboard.util import tensor_util


def event_files(logdir):
    found = []
    for root, _, names in os.walk(logdir):
        found += [os.path.join(root, n) for n in names if "tfevents" in n]
    return sorted(found)


def framing(path, allow_truncated_tail):
    """Pass 1: the payloads of the whole records of `path`, and what is wrong with it."""
    data = open(path, "rb").read()
    errors, events, payloads, offset = [], [], [], 0
    while offset < len(data):
        rest = len(data) - offset
        if rest < 12:
            errors.append(("truncated", f"{path}@{offset}: file ends inside a record header"))
            break
        header = data[offset:offset + 8]
        (length,) = struct.unpack("<Q", header)
        (header_crc,) = struct.unpack("<I", data[offset + 8:offset + 12])
        if header_crc != masked_crc32c(header):
            errors.append(("corrupt", f"{path}@{offset}: bad length CRC"))
            break
        if rest < 16 + length:
            errors.append(("truncated", f"{path}@{offset}: file ends inside a record"))
            break
        payload = data[offset + 12:offset + 12 + length]
        (data_crc,) = struct.unpack("<I", data[offset + 12 + length:offset + 16 + length])
        if data_crc != masked_crc32c(payload):
            errors.append(("corrupt", f"{path}@{offset}: bad data CRC"))
            break
        event = event_pb2.Event()
        try:
            event.ParseFromString(payload)
        except Exception as e:  # noqa: BLE001 - any parse error is a failure
            errors.append(("corrupt", f"{path}@{offset}: not an Event: {e}"))
            break
        events.append(event)
        payloads.append(payload)
        offset += 16 + length
    if not events:
        errors.append(("corrupt", f"{path}: no whole record"))
    elif events[0].file_version != "brain.Event:2":
        errors.append(("corrupt", f"{path}: first record is {events[0]!r}, not brain.Event:2"))
    return payloads, [m for kind, m in errors if kind == "corrupt" or not allow_truncated_tail]


def read_back(logdir):
    """Pass 3: run -> kind -> tag -> [(step, wall_time, decoded)], and hparams per run."""
    mux = pem.EventMultiplexer(size_guidance=pea.STORE_EVERYTHING_SIZE_GUIDANCE)
    mux.AddRunsFromDirectory(logdir)
    mux.Reload()
    got, hparams = {}, {}
    for run in sorted(mux.Runs()):
        acc = mux.GetAccumulator(run)
        kinds = got.setdefault(run, {"scalars": {}, "histograms": {}, "images": {}, "text": {}})
        for tag in acc.Tags()["tensors"]:
            plugin = acc.SummaryMetadata(tag).plugin_data.plugin_name
            kind = {"scalars": "scalars", "histograms": "histograms", "images": "images",
                    "text": "text"}.get(plugin)
            if kind is None:
                continue
            series = kinds[kind].setdefault(tag, [])
            for te in acc.Tensors(tag):
                series.append((te.step, te.wall_time, decode(kind, te.tensor_proto)))
        contents = acc.PluginTagToContent(hparams_metadata.PLUGIN_NAME) \
            if hparams_metadata.PLUGIN_NAME in acc.ActivePlugins() else {}
        hparams[run] = decode_hparams(contents)
    return got, hparams


def decode(kind, proto):
    array = tensor_util.make_ndarray(proto)
    if kind == "scalars":
        return float(array)
    if kind == "histograms":
        return array.tolist()
    if kind == "images":
        return {"width": int(array[0]), "height": int(array[1]),
                "png": [bytes(b) for b in array[2:]]}
    return [x.decode("utf-8") if isinstance(x, bytes) else str(x) for x in array.flatten()]


def decode_hparams(contents):
    out = {}
    if hparams_metadata.SESSION_START_INFO_TAG in contents:
        info = hparams_metadata.parse_session_start_info_plugin_data(
            contents[hparams_metadata.SESSION_START_INFO_TAG])
        out["hparams"] = {k: (v.WhichOneof("kind"), getattr(v, v.WhichOneof("kind")))
                          for k, v in info.hparams.items()}
    if hparams_metadata.EXPERIMENT_TAG in contents:
        experiment = hparams_metadata.parse_experiment_plugin_data(
            contents[hparams_metadata.EXPERIMENT_TAG])
        out["experiment"] = {"hparams": {h.name: h.type for h in experiment.hparam_infos},
                             "metrics": [m.name.tag for m in experiment.metric_infos]}
    if hparams_metadata.SESSION_END_INFO_TAG in contents:
        end = hparams_metadata.parse_session_end_info_plugin_data(
            contents[hparams_metadata.SESSION_END_INFO_TAG])
        out["session_end_status"] = end.status
    return out


def float32(v):
    """A spec value as TensorBoard stores it."""
    with np.errstate(over="ignore"):
        return float(np.float32(float(v)))


def same(a, b, rel=1e-12):
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    if math.isinf(a) or math.isinf(b):
        return a == b
    return abs(a - b) <= rel * max(1.0, abs(b))


def check(spec, got, hparams, fails):
    runs = [spec["run"]] if "run" in spec else sorted(got)
    merged = {"scalars": {}, "histograms": {}, "images": {}, "text": {}}
    for run in runs:
        for kind, tags in got.get(run, {}).items():
            for tag, series in tags.items():
                merged[kind].setdefault(tag, []).extend(series)
    for kind in merged:
        if kind in spec and sorted(spec[kind]) != sorted(merged[kind]):
            fails.append(f"{kind}: tags {sorted(merged[kind])}, want {sorted(spec[kind])}")

    for tag, want in spec.get("scalars", {}).items():
        series = merged["scalars"].get(tag, [])
        if len(series) != len(want):
            fails.append(f"scalar {tag}: {len(series)} points, want {len(want)}")
        for (step, wall, value), point in zip(series, want):
            if step != point[0] or not same(value, float32(point[1]), rel=0.0):
                fails.append(f"scalar {tag}: got {value} at step {step}, want {point[1]} at step {point[0]}")
            elif len(point) > 2 and abs(wall - point[2]) > 1e-6:
                fails.append(f"scalar {tag}@{step}: wall time {wall}, want {point[2]}")

    for tag, want in spec.get("histograms", {}).items():
        series = {step: buckets for step, _, buckets in merged["histograms"].get(tag, [])}
        for h in want:
            buckets = series.get(h["step"])
            if not buckets:
                fails.append(f"histogram {tag}@{h['step']}: missing")
                continue
            count = sum(b[2] for b in buckets)
            edges_ok = all(b[0] <= b[1] for b in buckets) and all(
                a[1] == b[0] for a, b in zip(buckets, buckets[1:]))
            if (count != h["count"] or not edges_ok or not same(buckets[0][0], h["min"], 1e-6)
                    or not same(buckets[-1][1], h["max"], 1e-6)):
                fails.append(f"histogram {tag}@{h['step']}: buckets {buckets}, want count "
                             f"{h['count']} from {h['min']} to {h['max']}")

    for tag, want in spec.get("images", {}).items():
        series = {step: image for step, _, image in merged["images"].get(tag, [])}
        for im in want:
            image = series.get(im["step"])
            if not image:
                fails.append(f"image {tag}@{im['step']}: missing")
                continue
            png = open(im["png_file"], "rb").read() if "png_file" in im else None
            if ((image["width"], image["height"]) != (im["width"], im["height"])
                    or len(image["png"]) != 1 or not image["png"][0].startswith(b"\x89PNG")
                    or (png is not None and image["png"][0] != png)):
                fails.append(f"image {tag}@{im['step']}: {image['width']}x{image['height']}, "
                             f"{len(image['png'])} blob(s); want {im}")

    for tag, want in spec.get("text", {}).items():
        series = {step: text for step, _, text in merged["text"].get(tag, [])}
        for t in want:
            if series.get(t["step"]) != [t["text"]]:
                fails.append(f"text {tag}@{t['step']}: {series.get(t['step'])!r}, want {t['text']!r}")

    session = {}
    for run in runs:
        session.update(hparams.get(run, {}))
    if "hparams" in spec:
        got_hp = session.get("hparams", {})
        want = {k: (("bool_value" if isinstance(v, bool) else "number_value"
                     if isinstance(v, (int, float)) else "string_value"), v)
                for k, v in spec["hparams"].items()}
        if got_hp != want:
            fails.append(f"hparams: session start has {got_hp}, want {want}")
    if "experiment" in spec:
        exp = session.get("experiment")
        types = {"string_value": 1, "bool_value": 2, "number_value": 3}
        if exp is None:
            fails.append("hparams: no experiment summary")
        elif (sorted(exp["hparams"]) != sorted(spec["experiment"]["hparams"])
              or sorted(exp["metrics"]) != sorted(spec["experiment"]["metrics"])):
            fails.append(f"hparams: experiment {exp}, want {spec['experiment']}")
        elif any(types[kind] != exp["hparams"].get(name)
                 for name, (kind, _) in session.get("hparams", {}).items()):
            fails.append(f"hparams: experiment types {exp['hparams']} do not match the session's "
                         f"values {session.get('hparams')}")
    if "session_end_status" in spec and session.get("session_end_status") != spec["session_end_status"]:
        fails.append(f"hparams: session end status {session.get('session_end_status')}, "
                     f"want {spec['session_end_status']}")


def main():
    spec = json.load(open(sys.argv[1]))
    dump = "--dump" in sys.argv[2:]
    logdir, fails = spec["logdir"], []
    files = event_files(logdir)
    if not files:
        fails.append(f"no event files under {logdir}")
    records = {}
    for path in files:
        payloads, errors = framing(path, spec.get("allow_truncated_tail", False))
        fails += errors
        records[path] = len(payloads)
        loaded = list(event_file_loader.RawEventFileLoader(path).Load())
        if loaded != payloads:
            fails.append(f"{path}: tensorboard's RawEventFileLoader read {len(loaded)} records, "
                         f"not the {len(payloads)} whole records of the framing pass")
    got, hparams = read_back(logdir)
    if "runs" in spec and sorted(got) != sorted(spec["runs"]):
        fails.append(f"runs {sorted(got)}, want {sorted(spec['runs'])}")
    check(spec, got, hparams, fails)

    if fails or dump:
        summary = {run: {kind: {tag: [(s, w, v if kind != "images" else
                                       {**v, "png": [len(b) for b in v["png"]]})
                                      for s, w, v in series]
                                for tag, series in tags.items()}
                         for kind, tags in kinds.items()}
                   for run, kinds in got.items()}
        print(json.dumps({"records": records, "read": summary, "hparams": hparams},
                         default=str))
    for f in fails:
        print("FAIL:", f)
    print("tb_check: OK" if not fails else f"tb_check: {len(fails)} failure(s)")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
