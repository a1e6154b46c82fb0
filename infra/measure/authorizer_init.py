#!/usr/bin/env python3
"""Cold start of the authorizer Lambda binary, measured here without AWS: process start to
its first decision, under an emulated Lambda Runtime API, against moto (DynamoDB + KMS).

    python3 infra/measure/authorizer_init.py \
        --binary target/release/authorizer --cli target/release/xecure \
        --endpoint http://127.0.0.1:PORT [--runs 5]

Needs boto3 (moto's virtualenv has it: .tools/moto-venv/bin/python). Prints one line per run
and the median, in milliseconds.
"""
import argparse
import http.server
import json
import os
import statistics
import subprocess
import threading
import time
import uuid

import boto3

EVENT = {
    "type": "TOKEN",
    "authorizationToken": "Bearer not-a-real-token",
    "methodArn": "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/orders",
}


class RuntimeApi(http.server.BaseHTTPRequestHandler):
    """Serves one invocation, then records when the function answered."""

    served = False
    answered_at = None
    answer = None
    done = threading.Event()

    def log_message(self, *args):
        pass

    def do_GET(self):
        if self.path.endswith("/runtime/invocation/next") and not RuntimeApi.served:
            RuntimeApi.served = True
            body = json.dumps(EVENT).encode()
            self.send_response(200)
            self.send_header("Lambda-Runtime-Aws-Request-Id", str(uuid.uuid4()))
            self.send_header("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 30000))
            self.send_header("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:123456789012:function:authorizer")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        else:
            # Later polls wait until the measurement is over.
            RuntimeApi.done.wait(10)
            self.send_response(500)
            self.end_headers()

    def do_POST(self):
        length = int(self.headers.get("Content-Length", 0))
        body = self.rfile.read(length)
        if RuntimeApi.answered_at is None:
            RuntimeApi.answered_at = time.perf_counter()
            RuntimeApi.answer = (self.path, body.decode(errors="replace"))
        self.send_response(202)
        self.end_headers()
        RuntimeApi.done.set()


def prepare(endpoint, cli):
    session = boto3.session.Session(aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1")
    table = f"xecure-init-{uuid.uuid4().hex[:8]}"
    session.client("dynamodb", endpoint_url=endpoint).create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}, {"AttributeName": "SK", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": "PK", "AttributeType": "S"}, {"AttributeName": "SK", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    key_id = session.client("kms", endpoint_url=endpoint).create_key()["KeyMetadata"]["KeyId"]
    env = aws_env(endpoint)
    subprocess.run([cli, "--dynamodb-table", table, "--kms-key-id", key_id, "keys", "rotate"], env=env, check=True, capture_output=True)
    return table


def aws_env(endpoint):
    env = dict(os.environ)
    env.update({
        "AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true",
    })
    return env


def one_run(binary, endpoint, table):
    RuntimeApi.served, RuntimeApi.answered_at = False, None
    RuntimeApi.done = threading.Event()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), RuntimeApi)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    env = aws_env(endpoint)
    env.update({
        "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{server.server_address[1]}",
        "AWS_LAMBDA_FUNCTION_NAME": "authorizer", "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256", "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/authorizer",
        "AWS_LAMBDA_LOG_STREAM_NAME": "local", "XECURE_TABLE": table,
        "XECURE_ISSUER": "https://auth.example",
    })
    started = time.perf_counter()
    process = subprocess.Popen([binary], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    RuntimeApi.done.wait(30)
    process.terminate()
    process.wait(10)
    server.shutdown()
    if RuntimeApi.answered_at is None:
        raise SystemExit("the function never answered")
    path, body = RuntimeApi.answer
    # The garbage token must be refused with the exact Unauthorized error, not an init error.
    if "/invocation/" not in path or "Unauthorized" not in body:
        raise SystemExit(f"unexpected answer {path}: {body}")
    return (RuntimeApi.answered_at - started) * 1000


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", required=True)
    parser.add_argument("--cli", required=True)
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    table = prepare(args.endpoint, args.cli)
    times = [one_run(args.binary, args.endpoint, table) for _ in range(args.runs)]
    for n, ms in enumerate(times, 1):
        print(f"run {n}: {ms:.1f} ms from process start to first decision")
    print(f"median: {statistics.median(times):.1f} ms; binary {os.path.getsize(args.binary) / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
