"""Schemathesis hooks of scripts/contract.sh (loaded through SCHEMATHESIS_HOOKS).

For a signed-in caller (CONTRACT_AUTH_FILE set), every generated request gets
`Authorization: Bearer <access token>` of that caller: the same as
`-H "Authorization: Bearer ..."`, except that the token is renewed before it
expires (access tokens live 900 s), so a long run (CONTRACT_EXAMPLES=...)
keeps testing as that caller instead of collecting 401s. The renewal uses the
caller's refresh token (POST /api/v1/auth/refresh, which rotates it), and
falls back to logging in with the caller's password.

Without CONTRACT_AUTH_FILE (the anonymous caller) no auth is registered.
The file (JSON: access_token, refresh_token, username, password, base_url) is
written by contract.py with mode 0600; nothing here prints a secret.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request

import schemathesis

# Renew well before the 900 s lifetime of an access token.
REFRESH_SECS = int(os.environ.get("CONTRACT_TOKEN_REFRESH_SECS", "600"))

_AUTH_FILE = os.environ.get("CONTRACT_AUTH_FILE")


def _post(url: str, body: dict) -> dict:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (loopback only)
        return json.load(response)


if _AUTH_FILE:

    # retry_on=[]: a 401 is an answer under test (a wrong current password,
    # a bad refresh token), not a sign of an expired token; replaying such
    # requests would hide it and repeat non-idempotent calls.
    @schemathesis.auth(refresh_interval=REFRESH_SECS, retry_on=[])
    class BetterPromptsSession:
        def __init__(self) -> None:
            with open(_AUTH_FILE, encoding="utf-8") as f:
                self.creds = json.load(f)
            self.fresh = True

        def _renew(self) -> str:
            base = self.creds["base_url"].rstrip("/") + "/api/v1/auth"
            try:
                tokens = _post(base + "/refresh", {"refresh_token": self.creds["refresh_token"]})
            except (urllib.error.URLError, OSError, ValueError, KeyError):
                tokens = _post(
                    base + "/login",
                    {"email_or_username": self.creds["username"], "password": self.creds["password"]},
                )
            self.creds["access_token"] = tokens["access_token"]
            self.creds["refresh_token"] = tokens.get("refresh_token", self.creds["refresh_token"])
            return self.creds["access_token"]

        def get(self, case, context):
            # The first call hands out the token the harness just obtained.
            if self.fresh:
                self.fresh = False
                return self.creds["access_token"]
            return self._renew()

        def set(self, case, data, context):
            case.headers = case.headers or {}
            case.headers["Authorization"] = f"Bearer {data}"
