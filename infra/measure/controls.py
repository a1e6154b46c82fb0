"""How fast each control cuts each credential, measured on a running system.

Starts moto (DynamoDB + KMS, one request at a time), `xecure serve` on a DynamoDB table in
it, and for each control: signs the demo user in through the demo app's client (`demo-app`,
code + PKCE), takes a session, an unredeemed code, a refresh token and an access token, then
applies the control (the `xecure` CLI on the same table, or the user's own HTTP call) and
probes every credential until it is refused: the session (GET /authorize answers the login
page), the code and the refresh token (POST /token), the access token at the local gateway
(GET /orders answers 401). Prints one row per control with the seconds each took.

    .tools/moto-venv/bin/python infra/measure/controls.py --xecure target/debug/xecure

No timing is asserted anywhere: these are figures for the README and the closing note.
"""
import argparse
import base64
import hashlib
import http.client
import json
import os
import re
import secrets
import socket
import subprocess
import sys
import threading
import time
import urllib.parse

import boto3

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
GATEWAY_LIMIT_SECS = 70  # the promise is 60 s; look a little longer to see a miss


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def aws_env(endpoint):
    env = dict(os.environ)
    env.update({"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_REGION": "us-east-1",
                "AWS_EC2_METADATA_DISABLED": "true", "AWS_ENDPOINT_URL": endpoint})
    return env


def create_table_and_key(endpoint, table):
    kw = dict(endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test")
    ddb = boto3.client("dynamodb", **kw)
    attrs = [{"AttributeName": n, "AttributeType": "S"} for n in ("PK", "SK", "GSI1PK", "GSI1SK", "GSI2PK", "GSI2SK")]
    gsi = lambda n: {"IndexName": n, "KeySchema": [{"AttributeName": n + "PK", "KeyType": "HASH"},
                                                     {"AttributeName": n + "SK", "KeyType": "RANGE"}],
                     "Projection": {"ProjectionType": "ALL"}}
    ddb.create_table(TableName=table, BillingMode="PAY_PER_REQUEST", AttributeDefinitions=attrs,
                     KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}, {"AttributeName": "SK", "KeyType": "RANGE"}],
                     GlobalSecondaryIndexes=[gsi("GSI1"), gsi("GSI2")])
    ddb.update_time_to_live(TableName=table, TimeToLiveSpecification={"Enabled": True, "AttributeName": "ttl"})
    return boto3.client("kms", **kw).create_key()["KeyMetadata"]["KeyId"]


class Browser:
    """One session cookie, no redirects followed, forms read from HTML."""

    def __init__(self, port):
        self.port, self.cookie = port, None

    def request(self, method, path, form=None, headers=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        headers = dict(headers or {})
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form, doseq=True)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        if self.cookie:
            headers["Cookie"] = "xecure_session=" + self.cookie
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        text = response.read().decode("utf-8", "replace")
        for name, value in response.getheaders():
            if name.lower() == "set-cookie" and value.startswith("xecure_session="):
                self.cookie = value.split(";")[0].split("=", 1)[1]
        conn.close()
        return response.status, dict((k.lower(), v) for k, v in response.getheaders()), text


def hidden(page, name):
    return re.search(r'name="%s" value="([^"]*)"' % name, page).group(1)


def local(location, issuer):
    return location[len(issuer):] if location.startswith(issuer) else location


class System:
    def __init__(self, xecure, port, table, key, endpoint):
        self.xecure, self.port, self.table, self.key, self.endpoint = xecure, port, table, key, endpoint
        self.issuer = "http://127.0.0.1:%d" % port
        self.redirect = self.issuer + "/demo/callback"

    def cli(self, *args, stdin=None):
        cmd = [self.xecure, "--dynamodb-table", self.table, "--kms-key-id", self.key, "--endpoint", self.endpoint, *args]
        done = subprocess.run(cmd, input=stdin, capture_output=True, text=True, env=aws_env(self.endpoint))
        if done.returncode != 0:
            raise RuntimeError("%s: %s" % (" ".join(args), done.stderr))
        return done.stdout

    def authorize_path(self, verifier, scope, prompt=None):
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        q = {"response_type": "code", "client_id": "demo-app", "redirect_uri": self.redirect, "scope": scope,
             "state": "s", "code_challenge": challenge, "code_challenge_method": "S256"}
        if prompt:
            q["prompt"] = prompt
        return "/authorize?" + urllib.parse.urlencode(q)

    def code_from(self, browser, verifier, scope, password, prompt=None, approve=None):
        status, headers, _ = browser.request("GET", self.authorize_path(verifier, scope, prompt))
        where = local(headers.get("location", ""), self.issuer)
        if where.startswith("/login?"):
            _, _, page = browser.request("GET", where)
            form = {"request": hidden(page, "request"), "csrf": hidden(page, "csrf"), "username": "demo", "password": password}
            _, headers, _ = browser.request("POST", "/login", form)
            where = local(headers.get("location", ""), self.issuer)
        if where.startswith("/consent?"):
            status, headers, page = browser.request("GET", where)
            if status == 200:
                form = {"request": hidden(page, "request"), "csrf": hidden(page, "csrf"), "decision": "approve",
                        "scope": (approve or scope).split(" ")}
                _, headers, _ = browser.request("POST", "/consent", form)
            where = headers.get("location", "")
        return urllib.parse.parse_qs(urllib.parse.urlparse(where).query)["code"][0]

    def token(self, form):
        status, _, body = Browser(self.port).request("POST", "/token", form)
        return status, json.loads(body)

    def exchange(self, code, verifier):
        return self.token({"grant_type": "authorization_code", "code": code, "redirect_uri": self.redirect,
                           "code_verifier": verifier, "client_id": "demo-app"})


def holdings(system, password, scope="profile:read orders:read orders:write"):
    browser = Browser(system.port)
    verifier = secrets.token_urlsafe(48)
    status, tokens = system.exchange(system.code_from(browser, verifier, scope, password), verifier)
    assert status == 200, tokens
    spare = system.code_from(browser, verifier, scope, password)
    return {"browser": browser, "verifier": verifier, "access": tokens["access_token"],
            "refresh": tokens["refresh_token"], "code": spare}


def probes(system, held):
    def session_cut():
        status, headers, _ = held["browser"].request("GET", system.authorize_path(held["verifier"], "profile:read"))
        return local(headers.get("location", ""), system.issuer).startswith("/login?")

    def code_cut():
        status, _ = system.exchange(held["code"], held["verifier"])
        return status != 200

    def refresh_cut():
        status, body = system.token({"grant_type": "refresh_token", "refresh_token": held["refresh"], "client_id": "demo-app"})
        if status == 200:  # a narrowing: the token lives on without the dropped scope
            held["refresh"] = body["refresh_token"]
            return "orders:write" not in body["scope"].split(" ")
        return True

    def access_cut():
        status, _, _ = Browser(system.port).request("GET", "/orders", headers={"Authorization": "Bearer " + held["access"]})
        return status == 401

    return {"session": session_cut, "code": code_cut, "refresh": refresh_cut, "access token at the gateway": access_cut}


def measure(system, name, password, control, cuts):
    held = holdings(system, password)
    checks = probes(system, held)
    if checks["access token at the gateway"]():
        payload = held["access"].split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        raise AssertionError("the access token fails before the control: %s" % claims)
    started = time.monotonic()
    control(held)
    applied = time.monotonic() - started
    times = {}
    pending = {what: checks[what] for what in cuts}
    while pending and time.monotonic() - started < GATEWAY_LIMIT_SECS:
        for what in list(pending):
            if pending[what]():
                times[what] = time.monotonic() - started
                del pending[what]
        time.sleep(0.25)
    row = [name, "%.2f" % applied] + [("%.2f s" % times[w]) if w in times else ("NOT CUT" if w in cuts else "-")
                                      for w in ("session", "code", "refresh", "access token at the gateway")]
    print("| " + " | ".join(row) + " |", flush=True)
    return all(w in times for w in cuts)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--xecure", default=os.path.join(ROOT, "target", "debug", "xecure"))
    args = parser.parse_args()
    moto_port, port = free_port(), free_port()
    endpoint = "http://127.0.0.1:%d" % moto_port
    moto = subprocess.Popen([sys.executable, os.path.join(ROOT, "tests", "moto_server.py"), str(moto_port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    serve = None
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", moto_port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        table = "xecure-controls-%s" % secrets.token_hex(4)
        key = create_table_and_key(endpoint, table)
        system = System(args.xecure, port, table, key, endpoint)
        serve = subprocess.Popen([args.xecure, "--dynamodb-table", table, "--kms-key-id", key, "--endpoint", endpoint,
                                  "serve", "--listen", "127.0.0.1:%d" % port],
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=aws_env(endpoint))
        password = None
        for line in serve.stdout:
            found = re.search(r"password \(shown once\): (\S+)", line)
            password = found.group(1) if found else password
            if line.startswith("protected demo API"):
                break
        assert password, "serve printed no demo password"
        # Keep reading the server's output (audit and access lines) into a file: a full pipe
        # would block its writes and hang every request.
        os.makedirs(os.path.join(ROOT, "test-artifacts"), exist_ok=True)
        serve_log = open(os.path.join(ROOT, "test-artifacts", "controls-serve.log"), "w")
        threading.Thread(target=lambda: serve_log.writelines(serve.stdout), daemon=True).start()
        all_users = ("session", "code", "refresh", "access token at the gateway")
        app_only = ("code", "refresh", "access token at the gateway")
        state = {"password": password}

        def passwd(held):
            state["password"] = secrets.token_urlsafe(18)
            system.cli("user", "passwd", "demo", stdin=state["password"] + "\n")

        def revoke_app(held):
            status, _, _ = held["browser"].request("DELETE", "/api/apps/demo-app")
            assert status == 204, status

        def narrow(held):
            system.code_from(held["browser"], held["verifier"], "profile:read orders:read orders:write", state["password"],
                             prompt="consent", approve="profile:read orders:read")

        def revoke_tokens(held):
            for token in (held["refresh"], held["access"]):
                status, _, _ = Browser(system.port).request("POST", "/revoke", {"token": token, "client_id": "demo-app"})
                assert status == 200, status

        print("| control | command took | session | code | refresh | access token at the gateway |")
        print("|---|---|---|---|---|---|")
        ok = True
        ok &= measure(system, "user sign-out (everywhere)", state["password"], lambda h: system.cli("user", "sign-out", "demo"), all_users)
        ok &= measure(system, "user passwd", state["password"], passwd, all_users)
        ok &= measure(system, "user disable", state["password"], lambda h: system.cli("user", "disable", "demo"), all_users)
        system.cli("user", "disable", "demo", "--undo")
        ok &= measure(system, "consent revoke (DELETE /api/apps)", state["password"], revoke_app, app_only)
        ok &= measure(system, "consent narrow (untick orders:write)", state["password"], narrow, ("refresh", "access token at the gateway"))
        ok &= measure(system, "token revoke (POST /revoke)", state["password"], revoke_tokens, ("refresh", "access token at the gateway"))
        ok &= measure(system, "client update (drop orders:write)", state["password"],
                      lambda h: system.cli("client", "update", "demo-app", "--scope", "profile:read orders:read"), app_only)
        # A client change reaches every container within its client cache's minute: until
        # then, tokens a container issues from the record it cached before a narrowing are
        # stopped too. Wait it out before using the client again.
        system.cli("client", "update", "demo-app", "--scope", "profile:read orders:read orders:write")
        time.sleep(61)
        ok &= measure(system, "client disable", state["password"], lambda h: system.cli("client", "disable", "demo-app"), app_only)
        system.cli("client", "disable", "demo-app", "--undo")
        time.sleep(61)
        # Removal last: nothing comes back after it.
        ok &= measure(system, "user remove", state["password"], lambda h: system.cli("user", "remove", "demo"), all_users)
        sys.exit(0 if ok else 1)
    finally:
        for process in (serve, moto):
            if process is not None:
                process.terminate()
                process.wait()


if __name__ == "__main__":
    main()
