"""`xecure serve` started for a measurement: a free loopback port, a fresh data directory,
stopped by its PID. Standard library only."""
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LocalServer:
    """`xecure serve` with `env` added to the environment; `open_files` caps its file
    descriptors. Its stderr is kept in `self.stderr` (a file)."""

    def __init__(self, xecure, env=None, open_files=None):
        self.port = free_port()
        self.data = tempfile.mkdtemp(prefix="xecure-measure-")
        self.stderr = tempfile.TemporaryFile()

        def limit():
            if open_files:
                import resource
                resource.setrlimit(resource.RLIMIT_NOFILE, (open_files, open_files))

        self.process = subprocess.Popen(
            [xecure, "--data-dir", self.data, "serve", "--listen", f"127.0.0.1:{self.port}"],
            stdout=subprocess.DEVNULL, stderr=self.stderr, preexec_fn=limit,
            env=dict(os.environ, RUST_LOG="error", **(env or {})),
        )
        for _ in range(300):
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.1)
        self.stop()
        sys.exit("xecure serve did not start")

    @property
    def pid(self):
        return self.process.pid

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=10)
        shutil.rmtree(self.data, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *_):
        self.stop()
