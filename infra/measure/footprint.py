#!/usr/bin/env python3
"""Memory and CPU of the four Lambda binaries, measured here without AWS, to size them in
infra/template.yaml: each release binary serves a cold start and then --warm invocations of a
typical request under an emulated Lambda Runtime API, against moto (DynamoDB + KMS).

    python3 infra/measure/footprint.py --lambda-dir target/lambda --cli target/debug/xecure \
        --endpoint http://127.0.0.1:PORT [--warm 50]

--lambda-dir holds <function>/bootstrap.zip (tests/deploy/check.sh builds them). Needs boto3
(moto's virtualenv has it). Prints, per function: peak resident memory (VmHWM), CPU time from
process start to the first answer (the cold start's CPU work) and its wall time, the median
warm answer, and the CPU per warm invocation (all threads, schedstat).
"""
import argparse
import base64
import json
import os
import re
import statistics
import subprocess
import tempfile
import time
import uuid
import zipfile

import boto3

from runtime_api import RuntimeApi, aws_env

ISSUER = "https://auth.example/dev"


def rest_event(method, path, headers=None, body=None, query=None):
    """A REST API (payload 1.0) proxy event, as API Gateway sends it."""
    headers = {"Host": "auth.example", "User-Agent": "footprint/1.0", **(headers or {})}
    return {
        "resource": path, "path": path, "httpMethod": method, "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": query, "multiValueQueryStringParameters": {k: [v] for k, v in (query or {}).items()} or None,
        "pathParameters": None, "stageVariables": None, "body": body, "isBase64Encoded": False,
        "requestContext": {
            "accountId": "123456789012", "resourceId": "r", "stage": "dev", "requestId": str(uuid.uuid4()),
            "identity": {"sourceIp": "203.0.113.7", "userAgent": "footprint/1.0"},
            "resourcePath": path, "httpMethod": method, "apiId": "abc123", "path": "/dev" + path,
            "protocol": "HTTP/1.1",
        },
    }


def prepare(endpoint, cli):
    """A table with a signing key, a confidential client and a public one; returns the
    table, the KMS key and the confidential client's secret."""
    session = boto3.session.Session(aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1")
    table = f"xecure-footprint-{uuid.uuid4().hex[:8]}"
    attributes = ["PK", "SK", "GSI1PK", "GSI1SK", "GSI2PK", "GSI2SK"]
    session.client("dynamodb", endpoint_url=endpoint).create_table(
        TableName=table, BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": a, "AttributeType": "S"} for a in attributes],
        KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}, {"AttributeName": "SK", "KeyType": "RANGE"}],
        GlobalSecondaryIndexes=[{
            "IndexName": index, "Projection": {"ProjectionType": "ALL"},
            "KeySchema": [{"AttributeName": f"{index}PK", "KeyType": "HASH"}, {"AttributeName": f"{index}SK", "KeyType": "RANGE"}],
        } for index in ("GSI1", "GSI2")],
    )
    key = session.client("kms", endpoint_url=endpoint).create_key()["KeyMetadata"]["Arn"]
    env = aws_env(endpoint)
    admin = [cli, "--dynamodb-table", table, "--kms-key-id", key]
    subprocess.run(admin + ["keys", "rotate"], env=env, check=True, capture_output=True)
    added = subprocess.run(admin + ["client", "add", "svc", "--name", "Service", "--redirect-uri",
                                    "https://svc.example/cb", "--scope", "orders:read", "--grant", "client_credentials"],
                           env=env, check=True, capture_output=True, text=True)
    secret = re.search(r"secret\S*:?\s+(\S{20,})", added.stdout + added.stderr)
    if not secret:
        raise SystemExit(f"no client secret in: {added.stdout}{added.stderr}")
    subprocess.run(admin + ["client", "add", "web", "--name", "Web", "--public", "--redirect-uri",
                            "https://web.example/cb", "--scope", "profile:read orders:read"],
                   env=env, check=True, capture_output=True)
    return table, key, secret.group(1)


def vm_hwm_kib(pid):
    with open(f"/proc/{pid}/status") as status:
        return int(next(line for line in status if line.startswith("VmHWM")).split()[1])


def cpu_ms(pid):
    """CPU time of all the process's threads so far (schedstat: nanoseconds on a CPU)."""
    total = 0
    for thread in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{thread}/schedstat") as schedstat:
            total += int(schedstat.read().split()[0])
    return total / 1e6


def measure(binary, env, events):
    """Serves `events` to a fresh process; returns (answers, peak KiB, cold CPU ms, cold
    wall ms: process start to first answer, warm median ms, warm CPU ms per invocation)."""
    runtime = RuntimeApi()
    answers, warm = [], []
    started = time.perf_counter()
    process = subprocess.Popen([binary], env=dict(env, **runtime.environment("f")),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    cold_cpu = cold_wall = 0.0
    try:
        for n, event in enumerate(events):
            sent = time.perf_counter() if n else started
            answered, path, body = runtime.invoke(event)
            if not path.endswith("/response"):
                raise SystemExit(f"{binary}: error answer {path}: {body}")
            answers.append(body)
            if n == 0:
                cold_cpu = cpu_ms(process.pid)
                cold_wall = (answered - started) * 1000
            else:
                warm.append((answered - sent) * 1000)
        peak = vm_hwm_kib(process.pid)
        warm_cpu = (cpu_ms(process.pid) - cold_cpu) / max(len(warm), 1)
    finally:
        process.terminate()
        process.wait(10)
        runtime.close()
    return answers, peak, cold_cpu, cold_wall, statistics.median(warm), warm_cpu


def status(answer):
    """The HTTP status of a function's answer; a server error ends the measurement."""
    code = json.loads(answer)["statusCode"]
    if code >= 500:
        raise SystemExit(f"the function failed: {answer}")
    return code


def unpack(lambda_dir, function, into):
    path = os.path.join(into, function)
    with zipfile.ZipFile(os.path.join(lambda_dir, function, "bootstrap.zip")) as archive:
        archive.extract("bootstrap", path)
    binary = os.path.join(path, "bootstrap")
    os.chmod(binary, 0o755)
    return binary


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--lambda-dir", required=True)
    parser.add_argument("--cli", required=True)
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--warm", type=int, default=50)
    args = parser.parse_args()
    table, key, secret = prepare(args.endpoint, args.cli)
    env = dict(aws_env(args.endpoint), XECURE_TABLE=table, XECURE_KMS_KEY_ID=key, XECURE_ISSUER=ISSUER)
    basic = base64.b64encode(f"svc:{secret}".encode()).decode()
    token_request = rest_event("POST", "/token", {"Content-Type": "application/x-www-form-urlencoded",
                                                  "Authorization": f"Basic {basic}"},
                               "grant_type=client_credentials&scope=orders%3Aread")
    authorize_request = rest_event("GET", "/authorize", query={
        "client_id": "web", "redirect_uri": "https://web.example/cb", "response_type": "code",
        "scope": "profile:read", "state": "s", "code_challenge_method": "S256",
        "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"})
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        binaries = {f: unpack(args.lambda_dir, f, scratch) for f in ("token", "authorizer", "authorize", "consent")}
        answers, *figures = measure(binaries["token"], env, [token_request] * (args.warm + 1))
        rows.append(("token", f"POST /token credentials: {status(answers[0])}", *figures))
        access_token = json.loads(json.loads(answers[0])["body"])["access_token"]
        authorizer_request = {"type": "TOKEN", "authorizationToken": f"Bearer {access_token}",
                              "methodArn": "arn:aws:execute-api:us-east-1:123456789012:abc123/dev/GET/orders"}
        answers, *figures = measure(binaries["authorizer"], env, [authorizer_request] * (args.warm + 1))
        if '"Allow"' not in answers[0]:
            raise SystemExit(f"the authorizer did not allow the token: {answers[0]}")
        rows.append(("authorizer", "TOKEN event, allowed", *figures))
        answers, *figures = measure(binaries["authorize"], env, [authorize_request] * (args.warm + 1))
        rows.append(("authorize", f"GET /authorize: {status(answers[0])}", *figures))
        answers, *figures = measure(binaries["consent"], env, [rest_event("GET", "/consent")] * (args.warm + 1))
        rows.append(("consent", f"GET /consent, no session: {status(answers[0])}", *figures))
    print(f"{'function':<11} {'request':<32} {'peak RSS':>9} {'cold CPU':>9} {'cold wall':>10}"
          f" {'warm median':>12} {'warm CPU':>9}")
    for function, request, peak, cold_cpu, cold_wall, warm, warm_cpu in rows:
        print(f"{function:<11} {request:<32} {peak / 1024:>6.1f} MB {cold_cpu:>6.1f} ms {cold_wall:>7.1f} ms"
              f" {warm:>9.2f} ms {warm_cpu:>6.3f} ms")


if __name__ == "__main__":
    main()
