"""Conformance of the emulator's Auth API with Duo's official Python client.

`duo_client` (PyPI, pinned in run.sh) drives the emulator over TLS: ping,
check, preauth for every kind of user, with signature version 5 (the
client's default: JSON bodies, HMAC-SHA512) and version 2 with HMAC-SHA512
and HMAC-SHA1; auth with push (synchronous, approved from another thread,
and asynchronous with auth_status), phone, SMS then an SMS passcode, a
passcode, a push that times out, bypass, locked-out and unenrolled users;
enroll and enroll_status around an activation; Duo's 429 answered by the
client's own retry; then the errors Duo gives for a wrong integration key, a
wrong secret key and a skewed clock. The tester's side (approve, answer, the
SMS inbox) goes through the emulator's phone page and control API. Exits
non-zero on the first mismatch.
"""

import argparse
import hashlib
import json
import ssl
import sys
import threading
import time
import urllib.error
import urllib.parse
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


def get(args, path):
    context = ssl.create_default_context(cafile=args.ca)
    with urllib.request.urlopen(f"https://localhost:{args.port}{path}", context=context) as response:
        return json.loads(response.read())


def phone(args, user, fields):
    """Presses a button on the user's phone page (a form POST, then the page)."""
    context = ssl.create_default_context(cafile=args.ca)
    request = urllib.request.Request(
        f"https://localhost:{args.port}/phone/{user}",
        data=urllib.parse.urlencode(fields).encode(),
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, context=context) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def waiting(args, user):
    """The user's waiting transactions, as the control API lists them."""
    listed = get(args, f"/__emulator/transactions?user={user}")["transactions"]
    return [t for t in listed if t["result"] == "waiting"]


def approve_when_pushed(args, user):
    """Approves the user's next push from another thread (the sync auth call blocks)."""
    def run():
        for _ in range(200):
            pending = waiting(args, user)
            if pending:
                control(args, f"/transactions/{pending[0]['txid']}", {"action": "approve"})
                return
            time.sleep(0.05)

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def client(args, ikey=IKEY, skey=SKEY, **kwargs):
    return duo_client.Auth(ikey, skey, "localhost", ca_certs=args.ca, port=args.port, **kwargs)


MESSAGES = {
    40002: "Invalid request parameters",
    40102: "Invalid integration key in request credentials",
    40103: "Invalid signature in request credentials",
    40105: "Bad request timestamp",
}


def refused(call, code, what, detail=None):
    try:
        call()
    except RuntimeError as error:
        # duo_client: "Received <status> <message> (<detail>)"
        expected = f"Received {code // 100} {MESSAGES[code]}"
        check(str(error).startswith(expected), f"{what}: {error}")
        if detail is not None:
            check(str(error).endswith(f"({detail})"), f"{what}: names {detail}")
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

    for name, auth in variants.items():
        factors(args, name, auth)
    enrollment(args)
    verified_push(args)
    lockout(args)
    rate_limited(args)

    refused(lambda: client(args, ikey="DIWRONGWRONGWRONG000").check(), 40102, "unknown integration key")
    refused(lambda: client(args, skey="X" * 40).check(), 40103, "wrong secret key")
    refused(lambda: client(args, skey="X" * 40, sig_version=2).preauth(username="alice"), 40103, "wrong secret key, v2")
    control(args, "/faults", {"kind": "clock_offset", "seconds": 600})
    refused(lambda: client(args).check(), 40105, "a clock ten minutes off")
    control(args, "/faults", {"kind": "clock_offset", "seconds": 0})
    check(isinstance(client(args).check()["time"], int), "the clock back")
    print("auth api conformance: all checks passed")


def factors(args, name, auth):
    # A synchronous push, approved by the tester while the call waits.
    thread = approve_when_pushed(args, "alice")
    done = auth.auth("push", username="alice", device="auto", type="Edge login", pushinfo="app=demo")
    thread.join()
    check(done["result"] == "allow" and done["status"] == "allow", f"{name}: sync push approved: {done}")

    # An asynchronous push: waiting/pushed at once, then the tester approves on the phone page.
    txid = auth.auth("push", username="alice", device="auto", async_txn=True)["txid"]
    first = auth.auth_status(txid)
    check(first["waiting"] and first["status"] == "pushed", f"{name}: async push is pushed: {first}")
    status, page = phone(args, "alice", {})
    check(status == 400 and "Choose a transaction" in page, f"{name}: a form without an action is refused")
    page_txn = [t for t in waiting(args, "alice") if t["txid"] == txid]
    check(page_txn and page_txn[0]["pushinfo"] == [] and page_txn[0]["device"] == "iPhone", f"{name}: the push is listed")
    status, _ = phone(args, "alice", {"txid": txid, "action": "approve"})
    done = auth.auth_status(txid)
    check(done["success"] and done["status"] == "allow", f"{name}: approved on the phone page: {done}")

    # A scripted denial decides the push without a tester.
    control(args, "/script", {"user": "alice", "outcome": "deny"})
    done = auth.auth("push", username="alice", device="auto")
    check(done["result"] == "deny" and done["status"] == "deny", f"{name}: scripted deny: {done}")

    # A push nobody answers times out (the clock moves past its 60 s).
    txid = auth.auth("push", username="alice", device="auto", async_txn=True)["txid"]
    auth.auth_status(txid)
    control(args, "/clock", {"offset_seconds": 61})
    done = auth.auth_status(txid)
    control(args, "/clock", {"offset_seconds": 0})
    check(not done["waiting"] and done["status"] == "timeout", f"{name}: unanswered push times out: {done}")

    # A phone call to the office phone: calling, answered, then '#'.
    preauth = auth.preauth(username="alice")
    office = next(d["device"] for d in preauth["devices"] if d["name"] == "Office phone")
    txid = auth.auth("phone", username="alice", device=office, async_txn=True)["txid"]
    first = auth.auth_status(txid)
    check(first["status"] == "calling" and "0142" in first["status_msg"], f"{name}: calling: {first}")
    control(args, f"/transactions/{txid}", {"action": "answer"})
    answered = auth.auth_status(txid)
    check(answered["waiting"] and answered["status"] == "answered", f"{name}: answered: {answered}")
    control(args, f"/transactions/{txid}", {"action": "approve"})
    check(auth.auth_status(txid)["success"], f"{name}: '#' pressed")
    refused(lambda: auth.auth("push", username="alice", device=office), 40002, f"{name}: a landline cannot push", "no capable device")

    # Passcodes: a Duo Mobile one, a wrong one.
    ok = auth.auth("passcode", username="alice", passcode="123456")
    check(ok["result"] == "allow", f"{name}: passcode: {ok}")
    wrong = auth.auth("passcode", username="alice", passcode="000000")
    check(wrong["result"] == "deny" and wrong["status_msg"].startswith("Incorrect passcode"), f"{name}: wrong passcode: {wrong}")

    # SMS: passcodes "sent" (deny/sent), seen in the inbox, one use each.
    sent = auth.auth("sms", username="alice", device="auto")
    check(sent["result"] == "deny" and sent["status"] == "sent", f"{name}: sms sent: {sent}")
    batch = get(args, "/__emulator/sms?user=alice")["sms"][-1]
    code = batch["passcodes"][0]
    iphone = next(d for d in auth.preauth(username="alice")["devices"] if d["name"] == "iPhone")
    check(iphone.get("sms_nextcode") == code[0], f"{name}: preauth shows sms_nextcode {iphone.get('sms_nextcode')}")
    check(auth.auth("passcode", username="alice", passcode=code)["result"] == "allow", f"{name}: SMS passcode")
    check(auth.auth("passcode", username="alice", passcode=code)["result"] == "deny", f"{name}: an SMS passcode works once")

    # Users Duo will not authenticate, whatever the factor.
    bypass = auth.auth("push", username="dave", device="auto")
    check(bypass["result"] == "allow" and bypass["status"] == "bypass", f"{name}: dave bypasses: {bypass}")
    locked = auth.auth("passcode", username="carol", passcode="123456")
    check(locked["result"] == "deny" and locked["status"] == "locked_out", f"{name}: carol is locked out: {locked}")
    refused(lambda: auth.auth("push", username="bob", device="auto"), 40002, f"{name}: bob has no device", "no capable device")
    refused(lambda: auth.auth("push", username="nobody", device="auto"), 40002, f"{name}: unknown user", "username")
    refused(lambda: auth.auth_status("not-a-txid"), 40002, f"{name}: unknown txid", "txid")


def verified_push(args):
    """Verified Duo Push through duo_client's own parameters: preauth with
    client_supports_verified_push answers a txid, auth carries it, the code
    arrives in auth_status's message, and the phone takes it."""
    auth = client(args)
    control(args, "/users", {"username": "vera", "verified_push": 4, "devices": [
        {"name": "Pixel", "platform": "Android", "number": "+1 555-0199", "capabilities": ["push", "sms"]}]})
    plain = auth.preauth(username="vera")
    check("txid" not in plain, "no txid for a client that does not say it supports Verified Push")
    refused_push = auth.auth("push", username="vera", device="auto")
    check(refused_push["result"] == "deny" and "txid" in refused_push["status_msg"], f"a push without the txid is denied: {refused_push}")

    for right in [False, True]:
        offer = auth.preauth(username="vera", client_supports_verified_push="1")
        check(offer["result"] == "auth" and offer.get("txid"), f"preauth offers a txid: {offer}")
        txid = auth.auth("push", username="vera", device="auto", async_txn=True, txid=offer["txid"])["txid"]
        first = auth.auth_status(txid)
        message = first["status_msg"]
        check(first["waiting"] and message.startswith("Please enter verification code "), f"the code is asked for: {message}")
        code = message.split("verification code ")[1].split(" ")[0]
        check(len(code) == 4 and code.isdigit(), f"a 4-digit code: {code}")
        status, page = phone(args, "vera", {"txid": txid, "action": "approve"})
        check(status == 409 and "code" in page, "approving without the code is refused")
        typed = code if right else ("1111" if code != "1111" else "2222")
        phone(args, "vera", {"txid": txid, "action": "approve", "code": typed})
        done = auth.auth_status(txid)
        check(done["status"] == ("allow" if right else "deny"), f"the {'right' if right else 'wrong'} code: {done}")
        reused = auth.auth("push", username="vera", device="auto", async_txn=True, txid=offer["txid"])
        check(auth.auth_status(reused["txid"])["status"] == "deny", "an offer serves one push")
    sms = auth.auth("sms", username="vera", device="auto", txid=auth.preauth(username="vera", client_supports_verified_push="1")["txid"])
    check(sms["result"] == "deny" and sms["status"] == "deny", f"a txid on SMS is denied: {sms}")


def enrollment(args):
    auth = client(args)
    enrolled = auth.enroll(username="erin", valid_secs=600)
    code, user_id = enrolled["activation_code"], enrolled["user_id"]
    check(code.startswith("duo://") and user_id.startswith("DU"), f"enroll: {code} {user_id}")
    check(auth.enroll_status(user_id, code) == "waiting", "enroll_status waiting")
    check(auth.preauth(username="erin")["result"] == "enroll", "erin must still enroll")
    refused(lambda: auth.enroll(username="erin"), 40002, "the username exists", "username")
    context = ssl.create_default_context(cafile=args.ca)
    url = enrolled["activation_url"]
    with urllib.request.urlopen(urllib.request.Request(url, data=b"", method="POST"), context=context) as response:
        check(response.status == 200, "activated on the activation page")
    check(auth.enroll_status(user_id, code) == "success", "enroll_status success")
    check(auth.enroll_status(user_id, "duo://nope") == "invalid", "enroll_status of another code")
    erin = auth.preauth(username="erin")
    check(erin["result"] == "auth" and erin["devices"][0]["name"] == "Duo Mobile", f"erin has Duo Mobile: {erin}")
    check(len(auth.enroll()["username"]) == 32, "enroll without a username makes one up")


def lockout(args):
    # Ten wrong passcodes in a row lock the user out, as Duo's default.
    control(args, "/users", {"username": "mallory", "devices": [{"name": "iPhone"}]})
    auth = client(args)
    for attempt in range(10):
        wrong = auth.auth("passcode", username="mallory", passcode=f"99999{attempt}")
        check(wrong["status"] == "deny", f"wrong passcode {attempt + 1}")
    locked = auth.auth("push", username="mallory", device="auto")
    check(locked["status"] == "locked_out", f"locked out after ten: {locked}")
    check(auth.preauth(username="mallory")["result"] == "deny", "preauth denies the locked-out user")


def rate_limited(args):
    # Duo's 429: duo_client waits about a second and retries, then succeeds.
    control(args, "/faults", {"kind": "duo_error", "status": 429, "code": 42901,
                              "message": "Too Many Requests", "endpoint": "preauth", "times": 1})
    since = get(args, "/__emulator/requests?path=/auth/v2/preauth")["requests"]
    last = since[-1]["seq"] if since else 0
    check(client(args).preauth(username="alice")["result"] == "auth", "preauth after a 429")
    tried = get(args, f"/__emulator/requests?path=/auth/v2/preauth&since={last}")["requests"]
    check([r["status"] for r in tried] == [429, 200], f"one 429, one retry: {[r['status'] for r in tried]}")


if __name__ == "__main__":
    main()
