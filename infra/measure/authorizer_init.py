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
import os
import statistics
import subprocess
import time
import uuid

import boto3

from runtime_api import RuntimeApi, aws_env

EVENT = {
    "type": "TOKEN",
    "authorizationToken": "Bearer not-a-real-token",
    "methodArn": "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/orders",
}


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


def one_run(binary, endpoint, table):
    runtime = RuntimeApi()
    env = dict(aws_env(endpoint), XECURE_TABLE=table, XECURE_ISSUER="https://auth.example",
               **runtime.environment("authorizer"))
    started = time.perf_counter()
    process = subprocess.Popen([binary], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        answered_at, path, body = runtime.invoke(EVENT, timeout=30)
    finally:
        process.terminate()
        process.wait(10)
        runtime.close()
    # The garbage token must be refused with the exact Unauthorized error, not an init error.
    if "/invocation/" not in path or "Unauthorized" not in body:
        raise SystemExit(f"unexpected answer {path}: {body}")
    return (answered_at - started) * 1000


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
