"""An emulated Lambda Runtime API on loopback, for running the real function binaries here:
hand a started process events one at a time and collect its answers. Used by the
measurement scripts beside this file."""
import http.server
import json
import os
import queue
import sys
import threading
import time
import uuid


def aws_env(endpoint):
    """The environment of a process that talks to a local AWS-compatible server (moto)."""
    env = dict(os.environ)
    env.update({
        "AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true",
    })
    return env


class _Handler(http.server.BaseHTTPRequestHandler):
    # Each RuntimeApi gets a subclass with queues of its own: a stopped process's pending
    # poll must not take the next process's event.
    events = None
    answers = None
    # The real Runtime API keeps one HTTP/1.1 connection open across invocations: a new
    # connection per request (http.server's HTTP/1.0 default) would add its CPU to every
    # warm invocation measured.
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes: without TCP_NODELAY, Nagle's algorithm and the
    # client's delayed ACK hold the body ~40 ms on a kept-alive connection.
    disable_nagle_algorithm = True

    def log_message(self, *args):
        pass

    def do_GET(self):
        try:
            event = self.events.get(timeout=30)
        except queue.Empty:
            self.send_response(500)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = json.dumps(event).encode()
        self.send_response(200)
        self.send_header("Lambda-Runtime-Aws-Request-Id", str(uuid.uuid4()))
        self.send_header("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 30000))
        self.send_header("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:123456789012:function:f")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.answers.put((time.perf_counter(), self.path, body.decode(errors="replace")))
        self.send_response(202)
        self.send_header("Content-Length", "0")
        self.end_headers()


class _Server(http.server.ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        # A function process is stopped while its next-invocation request waits: its
        # connection is reset, which is how every measurement ends, not an error.
        if isinstance(sys.exc_info()[1], ConnectionResetError):
            return
        super().handle_error(request, client_address)


class RuntimeApi:
    def __init__(self):
        self._handler = type("Handler", (_Handler,), {"events": queue.Queue(), "answers": queue.Queue()})
        self._server = _Server(("127.0.0.1", 0), self._handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def environment(self, function_name):
        """What Lambda sets for a function process, pointing at this Runtime API."""
        return {
            "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{self._server.server_address[1]}",
            "AWS_LAMBDA_FUNCTION_NAME": function_name, "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256", "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{function_name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": "local",
        }

    def invoke(self, event, timeout=60):
        """Hands out `event`; returns (perf_counter when answered, answer path, answer body).
        The path ends in /response for a result and /error for an error."""
        self._handler.events.put(event)
        return self._handler.answers.get(timeout=timeout)

    def close(self):
        self._server.shutdown()
