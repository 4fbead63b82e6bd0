"""Conformance: Duo's official Python SDK (duo_universal 2.3.1) against the Duo emulator over TLS.

Usage: conformance.py --host localhost:PORT --ca PATH

The emulator must run in TLS mode with its default configuration (the dev app and users). Every
check prints one line; the exit status is the number of failures (0 = all passed).
"""

import argparse
import sys
import traceback
import warnings
from urllib.parse import parse_qs, urlsplit

import requests
from duo_universal.client import Client, DuoException

CLIENT_ID = "DIEMULATORDEVCLIENT1"
SECRET = "EmulatorDevSecretNotForProduction0000000"
WRONG_SECRET = "WrongSecretWrongSecretWrongSecretWrong00"
REDIRECT = "http://localhost:8080/duo-callback"
OTHER_REDIRECT = "https://app.example.com/duo-callback"

# Duo secrets are 40 characters; PyJWT warns that this is short for HS512. Expected, not news.
warnings.filterwarnings("ignore", message="The HMAC key is")

failures = 0


def check(name):
    def wrap(fn):
        global failures
        try:
            fn()
            print(f"PASS {name}")
        except Exception:  # noqa: BLE001 - report every failure and keep going
            failures += 1
            print(f"FAIL {name}")
            traceback.print_exc(file=sys.stdout)
        return fn
    return wrap


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", required=True, help="api host, e.g. localhost:8443")
    parser.add_argument("--ca", required=True, help="the emulator's CA certificate (PEM)")
    args = parser.parse_args()
    host, ca = args.host, args.ca
    base = f"https://{host}"

    def client(secret=SECRET, redirect=REDIRECT, duo_code=True):
        return Client(CLIENT_ID, secret, host, redirect, duo_certs=ca, use_duo_code_attribute=duo_code)

    def control(method, path, body=None):
        r = requests.request(method, f"{base}/__emulator{path}", json=body, verify=ca, timeout=10)
        assert r.status_code == 200, (r.status_code, r.text)
        return r.json()

    def script(user, outcome, **extra):
        control("POST", "/script", {"user": user, "outcome": outcome, **extra})

    def authorize(url):
        r = requests.get(url, allow_redirects=False, verify=ca, timeout=10)
        assert r.status_code == 302, (r.status_code, r.text[:300])
        location = r.headers["Location"]
        query = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
        return location, query

    def login(c, username, user_for_script=None, outcome="approve", nonce=None, **extra):
        state = c.generate_state()
        if outcome is not None:
            script(user_for_script or username, outcome, **extra)
        url = c.create_auth_url(username, state, nonce=nonce)
        location, query = authorize(url)
        assert query.get("state") == state, (query, state)
        return location, query

    control("POST", "/reset")

    @check("health_check OK with the right secret (float exp, no iat)")
    def _():
        res = client().health_check()
        assert res["stat"] == "OK" and isinstance(res["response"]["timestamp"], int), res

    @check("health_check raises with a wrong secret (FAIL invalid_client)")
    def _():
        try:
            client(secret=WRONG_SECRET).health_check()
        except DuoException as e:
            assert "invalid_client" in str(e), e
        else:
            raise AssertionError("no exception")

    @check("scripted approve: create_auth_url + nonce, exchange validates (iss, aud, nonce, username)")
    def _():
        c = client()
        nonce = "n0nce-" + c.generate_state()
        _, query = login(c, "alice", nonce=nonce, factor="Duo Push")
        token = c.exchange_authorization_code_for_2fa_result(query["duo_code"], "alice", nonce=nonce)
        assert token["auth_result"]["status"] == "allow", token["auth_result"]
        assert token["auth_result"]["result"] == "allow"
        assert token["preferred_username"] == "alice" and token["sub"] == "alice"
        assert token["nonce"] == nonce
        assert token["aud"] == CLIENT_ID
        assert token["iss"] == f"https://{host}/oauth/v1/token"
        assert token["exp"] == token["auth_time"] + 3600
        ctx = token["auth_context"]
        assert ctx["factor"] == "duo_push" and ctx["result"] == "success", ctx
        assert ctx["application"]["key"] == CLIENT_ID and ctx["user"]["name"] == "alice"
        assert ctx["access_device"]["is_password_set"] == "unknown"
        assert ctx["access_device"]["hostname"] is None
        assert len(ctx["txid"]) == 36

    @check("reused code raises (invalid_grant)")
    def _():
        c = client()
        _, query = login(c, "alice")
        c.exchange_authorization_code_for_2fa_result(query["duo_code"], "alice")
        try:
            c.exchange_authorization_code_for_2fa_result(query["duo_code"], "alice")
        except DuoException as e:
            assert "invalid_grant" in str(e), e
        else:
            raise AssertionError("second exchange accepted")

    @check("wrong redirect URI at exchange raises (invalid_grant)")
    def _():
        _, query = login(client(), "alice")
        try:
            client(redirect=OTHER_REDIRECT).exchange_authorization_code_for_2fa_result(query["duo_code"], "alice")
        except DuoException as e:
            assert "invalid_grant" in str(e) and "Invalid redirect URI" in str(e), e
        else:
            raise AssertionError("exchange with another redirect URI accepted")

    @check("wrong secret at exchange raises (invalid_client)")
    def _():
        _, query = login(client(), "alice")
        try:
            client(secret=WRONG_SECRET).exchange_authorization_code_for_2fa_result(query["duo_code"], "alice")
        except DuoException as e:
            assert "invalid_client" in str(e), e
        else:
            raise AssertionError("exchange with a wrong secret accepted")

    @check("scripted deny: the SDK accepts a token whose auth_result is deny")
    def _():
        c = client()
        _, query = login(c, "alice", outcome="deny")
        token = c.exchange_authorization_code_for_2fa_result(query["duo_code"], "alice")
        assert token["auth_result"]["status"] == "deny", token["auth_result"]
        assert token["auth_context"]["result"] == "denied"

    @check("alias login: sub is the primary username, preferred_username the alias")
    def _():
        c = client()
        _, query = login(c, "alice@example.com")
        token = c.exchange_authorization_code_for_2fa_result(query["duo_code"], "alice@example.com")
        assert token["sub"] == "alice" and token["preferred_username"] == "alice@example.com", token
        assert token["auth_context"]["alias"] == "alice@example.com"

    @check("use_duo_code_attribute=False: the callback carries `code`")
    def _():
        c = client(duo_code=False)
        _, query = login(c, "alice")
        assert "code" in query and "duo_code" not in query, query
        token = c.exchange_authorization_code_for_2fa_result(query["code"], "alice")
        assert token["auth_result"]["status"] == "allow"

    @check("bypass user: redirected at once, allowed")
    def _():
        c = client()
        _, query = login(c, "dave", outcome=None)
        token = c.exchange_authorization_code_for_2fa_result(query["duo_code"], "dave")
        assert token["auth_result"]["status"] == "allow"
        assert token["auth_context"]["reason"] == "bypass_user"

    @check("scripted error redirect: error + error_description + state, no code")
    def _():
        _, query = login(client(), "alice", outcome="error", error="access_denied", error_description="Nope")
        assert query["error"] == "access_denied" and query["error_description"] == "Nope", query
        assert "duo_code" not in query

    @check("injected health FAIL surfaces as DuoException")
    def _():
        control("POST", "/faults", {"kind": "health_fail", "times": 1})
        try:
            client().health_check()
        except DuoException:
            pass
        else:
            raise AssertionError("health check passed despite the fault")
        client().health_check()

    @check("clock offset +400 s: the SDK's assertion looks expired, health check fails")
    def _():
        control("POST", "/clock", {"offset_seconds": 400})
        try:
            client().health_check()
        except DuoException:
            pass
        else:
            raise AssertionError("accepted an assertion expired by the emulator's clock")
        finally:
            control("POST", "/clock", {"offset_seconds": 0})

    for defect in ["wrong_nonce", "wrong_iss", "wrong_aud", "wrong_preferred_username",
                   "bad_signature", "alg_hs256", "expired", "missing_exp", "alg_none"]:
        @check(f"defective id_token ({defect}) is refused by the SDK")
        def _(defect=defect):
            c = client()
            nonce = "n0nce-" + c.generate_state()
            _, query = login(c, "alice", nonce=nonce)
            control("POST", "/faults", {"kind": "id_token", "defect": defect})
            try:
                c.exchange_authorization_code_for_2fa_result(query["duo_code"], "alice", nonce=nonce)
            except DuoException:
                pass
            else:
                raise AssertionError(f"SDK accepted an id_token with defect {defect}")

    @check("request log shows the SDK's token call: params in the query string, empty body")
    def _():
        entries = control("GET", "/requests?path=/oauth/v1/token")["requests"]
        assert entries, "no token requests logged"
        last = entries[-1]
        assert "client_assertion=" in (last["query"] or ""), last
        assert last["body"] == "", last
        assert last["headers"]["user-agent"].startswith("duo_universal_python/2.3.1"), last["headers"]

    print(f"{failures} failure(s)")
    return failures


if __name__ == "__main__":
    sys.exit(min(main(), 100))
