"""moto in server mode, one request at a time.

Real DynamoDB applies every request in isolation: two conditional writes or transactions on
one item never both succeed. moto's backends are not thread-safe: with its threaded server,
two concurrent TransactWriteItems can both pass their conditions, or fail with "dictionary
changed size during iteration". Serialising requests restores the isolation the store
contract relies on, and the concurrency tests then check our code, not moto's races.

Usage: python moto_server.py PORT
"""

import os
import signal
import sys
import threading

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import run_simple


class Serialised:
    def __init__(self, app):
        self.app = app
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        with self.lock:
            return list(self.app(environ, start_response))


def main():
    port = int(sys.argv[1])
    os.environ.setdefault("MOTO_PORT", str(port))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    run_simple(
        "127.0.0.1",
        port,
        Serialised(DomainDispatcherApplication(create_backend_app)),
        threaded=True,
        request_handler=MotoRequestHandler,
    )


if __name__ == "__main__":
    main()
