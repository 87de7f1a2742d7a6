#!/usr/bin/env python3
"""The Python peer of `cargo bench -p labbook --features wandb --bench wandb`: the `wandb`
package offline (`WANDB_MODE=offline`), `run.log({"loss": v}, step=i)` for 100,000 points
in one run, timed like the labbook benchmark: from `wandb.init` until `run.finish()` has
returned (the whole run, as one call of an `#[experiment]` function). `log_s` is the loop
alone.

Usage: wandb_peer.py [POINTS] [REPEATS]   (defaults 100000 and 3)
Prints one JSON line: {"peer", "version", "points", "seconds": [...], "median_s",
"log_s": [...]}.
"""
import json
import os
import statistics
import sys
import tempfile
import time

os.environ["WANDB_MODE"] = "offline"
os.environ["WANDB_SILENT"] = "true"
import wandb  # noqa: E402


def once(points):
    with tempfile.TemporaryDirectory() as root:
        start = time.perf_counter()
        run = wandb.init(project="bench", dir=root, config={"points": points})
        looped = time.perf_counter()
        log = run.log
        for i in range(points):
            log({"loss": 1.0 / (i + 1)}, step=i)
        logged = time.perf_counter()
        run.finish()
        return time.perf_counter() - start, logged - looped


def main():
    points = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    runs = [once(points) for _ in range(repeats)]
    seconds = [total for total, _ in runs]
    print(json.dumps({"peer": "wandb offline run.log", "version": wandb.__version__,
                      "points": points, "seconds": seconds,
                      "median_s": statistics.median(seconds),
                      "log_s": [loop for _, loop in runs]}))


if __name__ == "__main__":
    main()
