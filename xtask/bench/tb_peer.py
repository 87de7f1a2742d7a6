#!/usr/bin/env python3
"""The Python peer of `cargo bench -p labbook --features tensorboard --bench tensorboard`:
tensorboardX's `SummaryWriter.add_scalar` for 100,000 points, then flush and close, timed
like the labbook benchmark (from the first call until the file is written and closed; the
writer's creation is not timed).

Usage: tb_peer.py [POINTS] [REPEATS]   (defaults 100000 and 3)
Prints one JSON line: {"peer", "version", "points", "seconds": [...], "median_s"}.
"""
import json
import statistics
import sys
import tempfile
import time

import tensorboardX
from tensorboardX import SummaryWriter


def once(points):
    with tempfile.TemporaryDirectory() as logdir:
        writer = SummaryWriter(logdir=logdir)
        start = time.perf_counter()
        add = writer.add_scalar
        for i in range(points):
            add("loss", 1.0 / (i + 1), i)
        writer.flush()
        writer.close()
        return time.perf_counter() - start


def main():
    points = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    seconds = [once(points) for _ in range(repeats)]
    print(json.dumps({"peer": "tensorboardX SummaryWriter.add_scalar",
                      "version": tensorboardX.__version__, "points": points,
                      "seconds": seconds, "median_s": statistics.median(seconds)}))


if __name__ == "__main__":
    main()
