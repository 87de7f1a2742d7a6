#!/usr/bin/env python3
"""Run a throw-away `mlflow server` for labbook's tests and stop it when the caller goes.

Usage: mlflow_server.py STATE_DIR PORT [extra `mlflow server` arguments...]

Starts `python -m mlflow server` with a sqlite store and proxied artifacts in STATE_DIR on
127.0.0.1:PORT, in a process group of its own, waits for /health, prints `READY <seconds>`
and then waits for its stdin to close (the test dropped its handle or died) or SIGTERM.
Either way it stops the whole group: SIGTERM, then SIGKILL after 15 s.
Prints `FAILED <reason>` and exits 1 when the server does not come up.
"""
import os
import signal
import subprocess
import sys
import time
import urllib.request


def main():
    state, port, extra = sys.argv[1], sys.argv[2], sys.argv[3:]
    os.makedirs(state, exist_ok=True)
    state = os.path.abspath(state)
    log = open(os.path.join(state, "server.log"), "ab")
    cmd = [sys.executable, "-m", "mlflow", "server",
           "--backend-store-uri", f"sqlite:///{state}/mlflow.db",
           "--artifacts-destination", f"{state}/artifacts", "--serve-artifacts",
           "--host", "127.0.0.1", "--port", port, "--workers", "1", *extra]
    server = subprocess.Popen(cmd, stdout=log, stderr=log, stdin=subprocess.DEVNULL,
                              start_new_session=True)

    def stop(*_):
        try:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(15)
            except subprocess.TimeoutExpired:
                pass
            os.killpg(server.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    start = time.time()
    while True:
        if server.poll() is not None:
            print(f"FAILED the server exited with {server.returncode}; see {state}/server.log", flush=True)
            return 1
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1) as r:
                if r.status == 200:
                    break
        except OSError:
            pass
        if time.time() - start > 120:
            print("FAILED no answer on /health within 120 s", flush=True)
            stop()
        time.sleep(0.2)
    print(f"READY {time.time() - start:.1f}", flush=True)
    sys.stdin.read()
    stop()


if __name__ == "__main__":
    sys.exit(main())
