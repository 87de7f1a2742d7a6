#!/usr/bin/env python3
"""The Python side of `cargo xtask bench-compare`.

    python peers.py PEER OUT [SERVER_URI]

runs one peer on the workload labbook's `benches/compare.rs` runs, in this fresh process,
and prints one JSON line: the timed seconds, ns per call, and how many points the peer
actually stored (read back after the clock stops).

Recorded workloads log one scalar `loss` = 1/(i+1) at steps 0..n-1 (n = 100,000); the
clock covers the log calls and the final flush/close. Gate workloads time calls that a
frequency gate (log_freq = 100) or a rank gate skips, net of the empty loop.
"""
import json
import os
import sys
import time
from pathlib import Path

# MLflow's client reports usage to a server these machines cannot reach, and in the forked
# clients of the ceiling row its session variable raced (`KeyError:
# '_MLFLOW_TELEMETRY_SESSION_ID'`). labbook sends no telemetry; neither does its peer here.
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

N = 100_000
GATE_CALLS = 1_000_000
EVERY = 100
BATCH = 1000


def value(i):
    return 1.0 / (i + 1)


def timed(setup, loop, close):
    state = setup()
    start = time.perf_counter()
    loop(state)
    close(state)
    return time.perf_counter() - start


def jsonl(out):
    path = out / "metrics.jsonl"

    def loop(f):
        write, dumps = f.write, json.dumps
        for i in range(N):
            write(dumps({"step": i, "value": value(i), "time": time.time()}) + "\n")

    seconds = timed(lambda: open(path, "w"), loop, lambda f: f.close())
    return seconds, sum(1 for _ in open(path))


def tensorboardx(out):
    from tensorboardX import SummaryWriter

    def loop(w):
        add = w.add_scalar
        for i in range(N):
            add("loss", value(i), i)

    seconds = timed(lambda: SummaryWriter(logdir=str(out)), loop, lambda w: w.close())
    return seconds, count_tfevents(out)


def count_tfevents(directory):
    from tensorboard.backend.event_processing.event_file_loader import EventFileLoader

    count = 0
    for path in Path(directory).rglob("*tfevents*"):
        for event in EventFileLoader(str(path)).Load():
            count += sum(1 for v in event.summary.value if v.tag == "loss")
    return count


def wandb_offline(out):
    for var in ("WANDB_DIR", "WANDB_CACHE_DIR", "WANDB_CONFIG_DIR", "WANDB_DATA_DIR"):
        (out / var.lower()).mkdir(parents=True, exist_ok=True)
        os.environ[var] = str(out / var.lower())
    os.environ.update(WANDB_MODE="offline", WANDB_SILENT="true")
    import wandb

    def loop(run):
        log = run.log
        for i in range(N):
            log({"loss": value(i)}, step=i)

    seconds = timed(lambda: wandb.init(project="bench", dir=str(out), mode="offline"), loop, lambda r: r.finish())
    return seconds, count_wandb(out)


def count_wandb(directory):
    """`loss` history items in the `.wandb` files, read with the project's W&B verifier."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "verify"))
    from wandb_check import read_log

    count = 0
    for path in Path(directory).rglob("*.wandb"):
        records, _ = read_log(str(path))
        for record in records:
            if record.WhichOneof("record_type") == "history":
                count += sum(1 for item in record.history.item if item.key == "loss" or list(item.nested_key) == ["loss"])
    return count


def mlflow_batch(out, uri):
    os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"
    from mlflow import MlflowClient
    from mlflow.entities import Metric

    uri = uri or (out / "mlruns").resolve().as_uri()
    client = MlflowClient(tracking_uri=uri)

    def setup():
        experiment = client.create_experiment(f"peer-{os.getpid()}-{time.time_ns()}")
        return client.create_run(experiment).info.run_id

    def loop(run_id):
        batch = []
        for i in range(N):
            batch.append(Metric("loss", value(i), int(time.time() * 1000), i))
            if len(batch) == BATCH:
                client.log_batch(run_id, metrics=batch)
                batch = []
        if batch:
            client.log_batch(run_id, metrics=batch)

    state = {}

    def remember(run_id):
        state["run"] = run_id
        client.set_terminated(run_id)

    seconds = timed(setup, loop, remember)
    return seconds, len(client.get_metric_history(state["run"], "loss"))


def itwinai_console(out):
    import logging

    from itwinai import loggers

    log_file = open(out / "console.log", "w")

    def setup():
        logger = loggers.ConsoleLogger(savedir=str(out / "itwinai"), log_freq="batch")
        for handler in logging.getLogger("itwinai").handlers:
            if isinstance(handler, logging.StreamHandler):
                handler.setStream(log_file)
        logger.create_logger_context(rank=0)
        return logger

    def loop(logger):
        for i in range(N):
            logger.log(value(i), "loss", kind="metric", step=i, batch_idx=i)

    seconds = timed(setup, loop, lambda logger: logger.destroy_logger_context())
    log_file.close()
    return seconds, None


def skipped_batches():
    return [b for b in range(1, GATE_CALLS * EVERY // (EVERY - 1) + 2) if b % EVERY][:GATE_CALLS]


def gate(out, rank_gated):
    from itwinai import loggers

    if rank_gated:
        logger = loggers.ConsoleLogger(savedir=str(out / "itwinai"), log_freq=EVERY, log_on_workers=0)
        logger.create_logger_context(rank=1)
    else:
        logger = loggers.ConsoleLogger(savedir=str(out / "itwinai"), log_freq=EVERY)
        logger.create_logger_context(rank=0)
    batches = skipped_batches()
    log = logger.log
    for b in batches[:10_000]:
        log(0.5, "loss", kind="metric", step=b, batch_idx=b)
    start = time.perf_counter()
    for b in batches:
        log(0.5, "loss", kind="metric", step=b, batch_idx=b)
    gross = time.perf_counter() - start
    start = time.perf_counter()
    for b in batches:
        pass
    empty = time.perf_counter() - start
    return gross - empty


def python_if():
    batches = skipped_batches()
    start = time.perf_counter()
    hits = 0
    for b in batches:
        if b % EVERY == 0:
            hits += 1
    gross = time.perf_counter() - start
    start = time.perf_counter()
    for b in batches:
        pass
    return gross - (time.perf_counter() - start)


def _ceiling_client(args):
    uri, points, start_at = args
    from mlflow import MlflowClient
    from mlflow.entities import Metric

    client = MlflowClient(tracking_uri=uri)
    experiment = client.create_experiment(f"ceiling-{os.getpid()}-{time.time_ns()}")
    run_id = client.create_run(experiment).info.run_id
    while time.time() < start_at:
        time.sleep(0.001)
    for first in range(0, points, BATCH):
        client.log_batch(run_id, metrics=[
            Metric("loss", value(i), int(time.time() * 1000), i)
            for i in range(first, min(points, first + BATCH))])
    client.set_terminated(run_id)
    return time.time(), len(client.get_metric_history(run_id, "loss"))


def mlflow_ceiling(uri, clients):
    """The server's ceiling: `clients` processes, each sequential `log_batch` into a run of
    its own, N points in all; seconds from a common start until the last one is done."""
    from multiprocessing import Pool

    start_at = time.time() + 15  # every client has imported mlflow and made its run
    with Pool(clients) as pool:
        done = pool.map(_ceiling_client, [(uri, N // clients, start_at)] * clients)
    return max(t for t, _ in done) - start_at, sum(n for _, n in done)


def count_labbook_mlflow(run_dir, uri):
    """The `loss` points labbook's mlflow backend stored for the run in `run_dir`."""
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    experiment = client.get_experiment_by_name(f"labbook-{Path(run_dir).parent.parent}")
    runs = client.search_runs([experiment.experiment_id]) if experiment else []
    return sum(len(client.get_metric_history(r.info.run_id, "loss")) for r in runs)


def main():
    if sys.argv[1].startswith("count-"):
        kind, directory = sys.argv[1], Path(sys.argv[2])
        stored = {
            "count-tensorboard": lambda: count_tfevents(directory),
            "count-wandb": lambda: count_wandb(directory / "wandb"),
            "count-mlflow": lambda: count_labbook_mlflow(directory, sys.argv[3]),
        }[kind]()
        print(json.dumps({"stored": stored}))
        return
    peer, out = sys.argv[1], Path(sys.argv[2])
    uri = sys.argv[3] if len(sys.argv) > 3 else None
    out.mkdir(parents=True, exist_ok=True)
    if peer.startswith("gate-"):
        seconds = {
            "gate-python-if": python_if,
            "gate-itwinai": lambda: gate(out, False),
            "gate-itwinai-rank": lambda: gate(out, True),
        }[peer]()
        n, stored = GATE_CALLS, None
    else:
        run = {
            "jsonl": lambda: jsonl(out),
            "tensorboardX": lambda: tensorboardx(out),
            "wandb": lambda: wandb_offline(out),
            "mlflow-file": lambda: mlflow_batch(out, None),
            "mlflow-server": lambda: mlflow_batch(out, uri),
            "mlflow-ceiling-8": lambda: mlflow_ceiling(uri, 8),
            "itwinai-console": lambda: itwinai_console(out),
        }[peer]
        seconds, stored = run()
        n = N
    print(json.dumps({"peer": peer, "n": n, "seconds": seconds, "ns_per_call": seconds * 1e9 / n, "stored": stored}))


if __name__ == "__main__":
    main()
