"""Conformance of the emulator's Auth API with Duo's official Python client.

`duo_client` (PyPI, pinned in run.sh) drives the emulator over TLS: ping,
check, preauth for every kind of user, with signature version 5 (the
client's default: JSON bodies, HMAC-SHA512) and version 2 with HMAC-SHA512
and HMAC-SHA1; then the errors Duo gives for a wrong integration key, a
wrong secret key and a skewed clock. Exits non-zero on the first mismatch.
"""

import argparse
import hashlib
import json
import ssl
import sys
import urllib.request

import duo_client

IKEY = "DIEMULATORAUTHAPI001"
SKEY = "EmulatorAuthApiSecretNotForProduction000"


def check(cond, what):
    if not cond:
        print(f"FAIL: {what}", file=sys.stderr)
        sys.exit(1)
    print(f"ok: {what}")


def control(args, path, body):
    context = ssl.create_default_context(cafile=args.ca)
    request = urllib.request.Request(
        f"https://localhost:{args.port}/__emulator{path}",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, context=context) as response:
        return response.status


def client(args, ikey=IKEY, skey=SKEY, **kwargs):
    return duo_client.Auth(ikey, skey, "localhost", ca_certs=args.ca, port=args.port, **kwargs)


MESSAGES = {
    40102: "Invalid integration key in request credentials",
    40103: "Invalid signature in request credentials",
    40105: "Bad request timestamp",
}


def refused(call, code, what):
    try:
        call()
    except RuntimeError as error:
        # duo_client: "Received <status> <message> (<detail>)"
        expected = f"Received {code // 100} {MESSAGES[code]}"
        check(str(error).startswith(expected), f"{what}: {error}")
        return
    check(False, f"{what}: no error")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--ca", required=True)
    args = parser.parse_args()

    variants = {
        "v5 (default)": client(args),
        "v2 HMAC-SHA512": client(args, sig_version=2),
        "v2 HMAC-SHA1": client(args, sig_version=2, digestmod=hashlib.sha1),
    }
    for name, auth in variants.items():
        check(isinstance(auth.ping()["time"], int), f"{name}: ping")
        check(isinstance(auth.check()["time"], int), f"{name}: check")
        alice = auth.preauth(username="alice")
        check(alice["result"] == "auth", f"{name}: preauth alice is auth")
        devices = {d["name"]: d for d in alice["devices"]}
        check(
            set(devices["iPhone"]["capabilities"]) >= {"auto", "push", "sms", "phone", "mobile_otp"},
            f"{name}: alice's iPhone can push, call, SMS",
        )
        check(devices["Office phone"]["capabilities"] == ["auto", "phone"], f"{name}: the office phone only calls")
        check(devices["iPhone"]["number"] == "XXX-XXX-0100", f"{name}: numbers masked")
        by_alias = auth.preauth(username="alice@example.com")
        check(by_alias["result"] == "auth", f"{name}: an alias is the user")
        check(auth.preauth(username="bob")["result"] == "enroll", f"{name}: bob must enroll")
        check("enroll_portal_url" in auth.preauth(username="zoe"), f"{name}: an unknown user must enroll")
        check(auth.preauth(username="carol")["result"] == "deny", f"{name}: carol is locked out")
        check(auth.preauth(username="dave")["result"] == "allow", f"{name}: dave bypasses")
        check(auth.preauth(username="a b+c@example.com")["result"] == "enroll", f"{name}: odd characters are signed right")

    refused(lambda: client(args, ikey="DIWRONGWRONGWRONG000").check(), 40102, "unknown integration key")
    refused(lambda: client(args, skey="X" * 40).check(), 40103, "wrong secret key")
    refused(lambda: client(args, skey="X" * 40, sig_version=2).preauth(username="alice"), 40103, "wrong secret key, v2")
    control(args, "/faults", {"kind": "clock_offset", "seconds": 600})
    refused(lambda: client(args).check(), 40105, "a clock ten minutes off")
    control(args, "/faults", {"kind": "clock_offset", "seconds": 0})
    check(isinstance(client(args).check()["time"], int), "the clock back")
    print("auth api conformance: all checks passed")


if __name__ == "__main__":
    main()
