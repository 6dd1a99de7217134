#!/usr/bin/env python3
"""Helpers of scripts/contract.sh (standard library only).

  contract.py db-url URL DBNAME            URL with its database replaced
  contract.py serve-url FILE PID SECS      wait for serve's "http://..." line; print the origin
  contract.py wait-ready ORIGIN SECS       poll /api/v1/ready until 200
  contract.py save-openapi ORIGIN FILE      store the served OpenAPI document; print its operation count
  contract.py register ORIGIN NAME FILE    create an account; write its tokens and password to FILE (0600)
  contract.py login FILE                   log in again with FILE's credentials; update its tokens
  contract.py summarize OUTDIR CALLER...   read each caller's reports and the server log;
                                           print the failures, grouped, and one summary line;
                                           exit 1 on any failure

Every deadline is polled, not slept out. Only loopback origins are accepted.
"""

from __future__ import annotations

import base64
import glob
import json
import os
import re
import secrets
import sys
import time
import urllib.error
import urllib.parse
import urllib.request


def die(msg: str) -> None:
    print(f"contract: {msg}", file=sys.stderr)
    sys.exit(2)


def loopback(origin: str) -> str:
    host = urllib.parse.urlsplit(origin).hostname or ""
    if not (host == "localhost" or host == "::1" or host.startswith("127.")):
        die(f"refusing a non-loopback server: {origin}")
    return origin.rstrip("/")


def http(method: str, url: str, body: dict | None = None, timeout: float = 10) -> tuple[int, dict | str]:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:  # noqa: S310 (loopback only)
            status, raw = r.status, r.read()
    except urllib.error.HTTPError as e:
        status, raw = e.code, e.read()
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw.decode(errors="replace")


# ---------------------------------------------------------------- setup


def cmd_db_url(url: str, dbname: str) -> None:
    parts = urllib.parse.urlsplit(url)
    print(urllib.parse.urlunsplit(parts._replace(path="/" + urllib.parse.quote(dbname))))


def cmd_serve_url(path: str, pid: str, secs: str) -> None:
    deadline = time.monotonic() + float(secs)
    pattern = re.compile(r"(https?://[^/\s]+)/api/v1")
    while time.monotonic() < deadline:
        try:
            with open(path, encoding="utf-8", errors="replace") as f:
                m = pattern.search(f.read())
        except FileNotFoundError:
            m = None
        if m:
            print(loopback(m.group(1)))
            return
        if not _alive(int(pid)):
            die(f"serve (pid {pid}) exited before printing its URL")
        time.sleep(0.05)
    die(f"serve printed no URL within {secs} s")


def _alive(pid: int) -> bool:
    """Running (an exited child not yet reaped, a zombie, counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False
    except OSError:
        pass
    try:
        os.kill(pid, 0)
        return True
    except OSError:
        return False


def cmd_wait_ready(origin: str, secs: str) -> None:
    origin = loopback(origin)
    deadline = time.monotonic() + float(secs)
    last = "no answer"
    while time.monotonic() < deadline:
        try:
            status, body = http("GET", origin + "/api/v1/ready", timeout=2)
            if status == 200:
                return
            last = f"{status} {body}"
        except (urllib.error.URLError, OSError) as e:
            last = str(e)
        time.sleep(0.1)
    die(f"{origin}/api/v1/ready not ready within {secs} s (last: {last})")


def cmd_save_openapi(origin: str, path: str) -> None:
    status, body = http("GET", loopback(origin) + "/api/v1/openapi.json")
    if status != 200 or not isinstance(body, dict):
        die(f"GET /api/v1/openapi.json answered {status}")
    with open(path, "w", encoding="utf-8") as f:
        json.dump(body, f, indent=1, sort_keys=True)
    count = sum(1 for ops in body.get("paths", {}).values() for m in ops if m.upper() in HTTP_METHODS)
    print(count)


def _save(path: str, creds: dict) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(creds, f)


def cmd_register(origin: str, name: str, path: str) -> None:
    origin = loopback(origin)
    password = "Ct-" + secrets.token_hex(10) + "x9!"
    body = {
        "username": name,
        "email": f"{name}@example.com",
        "password": password,
        "confirm_password": password,
    }
    status, answer = http("POST", origin + "/api/v1/auth/register", body)
    if status != 201 or not isinstance(answer, dict) or "access_token" not in answer:
        die(f"registering {name}: {status} {answer if status >= 400 else ''}")
    _save(
        path,
        {
            "base_url": origin,
            "username": name,
            "password": password,
            "user_id": answer.get("user", {}).get("id"),
            "access_token": answer["access_token"],
            "refresh_token": answer.get("refresh_token"),
        },
    )


def cmd_login(path: str) -> None:
    with open(path, encoding="utf-8") as f:
        creds = json.load(f)
    body = {"email_or_username": creds["username"], "password": creds["password"]}
    status, answer = http("POST", loopback(creds["base_url"]) + "/api/v1/auth/login", body)
    if status != 200 or not isinstance(answer, dict) or "access_token" not in answer:
        die(f"logging in {creds['username']}: {status} {answer if status >= 400 else ''}")
    creds["access_token"] = answer["access_token"]
    creds["refresh_token"] = answer.get("refresh_token")
    creds["roles"] = answer.get("user", {}).get("roles")
    _save(path, creds)
    print(",".join(creds["roles"] or []))


# ---------------------------------------------------------------- summary


def _decode(blob) -> str:
    if blob is None:
        return ""
    if isinstance(blob, dict) and "$base64" in blob:
        return base64.b64decode(blob["$base64"]).decode("utf-8", errors="replace")
    return json.dumps(blob) if not isinstance(blob, str) else blob


def _curl(request: dict) -> str:
    parts = ["curl", "-X", request.get("method", "GET")]
    for name, values in sorted((request.get("headers") or {}).items()):
        if name.lower() in ("user-agent", "accept", "accept-encoding", "connection", "content-length", "x-schemathesis-testcaseid"):
            continue
        for v in values:
            parts += ["-H", f"'{name}: {v}'"]
    body = _decode(request.get("body"))
    if body:
        parts += ["-d", "'" + body.replace("'", "'\\''") + "'"]
    parts.append("'" + request.get("uri", "") + "'")
    return " ".join(parts)


def _short(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "..."


def _key_detail(message: str) -> str:
    """The part of a failure message that tells one failure from another."""
    first = message.strip().splitlines()[0] if message.strip() else ""
    return first[:160]


def _read_ndjson(path: str):
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line:
                try:
                    yield json.loads(line)
                except ValueError:
                    continue


def _panics(log: str) -> dict[str, int]:
    """`panicked at ...` in the server log, keyed by message and first project frame."""
    found: dict[str, int] = {}
    try:
        with open(log, encoding="utf-8", errors="replace") as f:
            lines = f.readlines()
    except FileNotFoundError:
        return found
    for i, line in enumerate(lines):
        if "panicked at" not in line:
            continue
        message = lines[i + 1].strip() if i + 1 < len(lines) else ""
        frame = ""
        for nxt in lines[i + 2 : i + 200]:
            m = re.search(r"at \./(crates/\S+)", nxt)
            if m:
                # The function name is on the line before "at".
                frame = m.group(1)
                break
            if "panicked at" in nxt:
                break
        # One entry per kind of panic and place: the offending text, byte
        # offsets and characters vary from one input to the next.
        message = message.split(" of `", 1)[0]
        message = re.sub(r"'[^']*'", "'…'", message)
        message = re.sub(r"\d+", "N", message)
        key = f"{message} [{frame or line.split('panicked at', 1)[1].strip()}]"
        found[key] = found.get(key, 0) + 1
    return found


TOOL_ERROR_TYPES = {"SystemError"}

_REPRO_CACHE: dict[str, dict[str, str]] = {}


def _error_reproductions(log: str) -> dict[str, str]:
    """Operation label -> the curl line schemathesis printed under ERRORS."""
    if log in _REPRO_CACHE:
        return _REPRO_CACHE[log]
    found: dict[str, str] = {}
    in_errors = False
    label = None
    try:
        with open(log, encoding="utf-8", errors="replace") as f:
            for raw in f:
                line = raw.rstrip("\n")
                banner = re.match(r"^=+ (.+?) =+$", line)
                if banner:
                    in_errors = banner.group(1).strip() == "ERRORS"
                    continue
                if not in_errors:
                    continue
                heading = re.match(r"^_+ (.+?) _+$", line)
                if heading:
                    label = heading.group(1)
                elif label and line.strip().startswith("curl ") and label not in found:
                    found[label] = line.strip()
    except FileNotFoundError:
        pass
    _REPRO_CACHE[log] = found
    return found


HTTP_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"}


def cmd_summarize(outdir: str, *callers: str) -> None:
    failures: dict[tuple, dict] = {}
    operations: set[str] = set()
    examples = 0
    per_caller: list[str] = []
    harness_problems: list[str] = []

    for caller in callers:
        rdir = os.path.join(outdir, caller)
        reports = sorted(glob.glob(os.path.join(rdir, "json-*.json")))
        if not reports:
            harness_problems.append(f"{caller}: schemathesis wrote no report (see {rdir}.log)")
            continue
        with open(reports[-1], encoding="utf-8") as f:
            report = json.load(f)
        tc = report.get("test_cases", {})
        examples += int(tc.get("generated", 0))
        if not report.get("complete", True) or report.get("stop_reason") not in (None, "completed"):
            harness_problems.append(f"{caller}: run stopped early ({report.get('stop_reason')})")
        caller_failures = 0
        for path in sorted(glob.glob(os.path.join(rdir, "ndjson-*.ndjson"))):
            for event in _read_ndjson(path):
                kind, body = next(iter(event.items()))
                if kind == "ScenarioFinished":
                    rec = body.get("recorder") or {}
                    label = rec.get("label") or ""
                    # Per-operation scenarios only (not the stateful phase's aggregate).
                    if body.get("status") != "skip" and label.split(" ", 1)[0] in HTTP_METHODS:
                        operations.add(label)
                    interactions = rec.get("interactions") or {}
                    for case_id, checks in (rec.get("checks") or {}).items():
                        for check in checks:
                            if check.get("status") != "failure":
                                continue
                            info = (check.get("failure_info") or {}).get("failure") or {}
                            op = info.get("operation") or rec.get("label", "?")
                            code = info.get("code") or ""
                            detail = _key_detail(info.get("message", ""))
                            key = (op, check.get("name"), code, detail)
                            inter = interactions.get(case_id) or {}
                            request = inter.get("request") or {}
                            response = inter.get("response") or {}
                            entry = failures.setdefault(
                                key,
                                {
                                    "operation": op,
                                    "check": check.get("name"),
                                    "code": code,
                                    "title": info.get("title", ""),
                                    "message": info.get("message", "").strip(),
                                    "callers": [],
                                    "count": 0,
                                    "request": None,
                                    "status": None,
                                    "answer": "",
                                },
                            )
                            entry["count"] += 1
                            if caller not in entry["callers"]:
                                entry["callers"].append(caller)
                                caller_failures += 1
                            curl = _curl(request) if request else ""
                            # Keep the shortest reproduction seen.
                            if curl and (entry["request"] is None or len(curl) < len(entry["request"])):
                                entry["request"] = curl
                                entry["status"] = response.get("status_code")
                                entry["answer"] = _short(_decode(response.get("content")))
                elif kind == "NonFatalError":
                    label = body.get("label") or "?"
                    value = body.get("value") or {}
                    etype = value.get("type") or "Error"
                    message = value.get("message") or ""
                    # Interpreter faults inside schemathesis (CPython 3.11's
                    # sporadic "AST constructor recursion depth mismatch" with
                    # several workers) say nothing about the API.
                    counted = etype not in TOOL_ERROR_TYPES
                    key = (label, "error" if counted else "tool", etype, _key_detail(message))
                    entry = failures.setdefault(
                        key,
                        {
                            "operation": label,
                            "check": "error" if counted else "tool",
                            "code": "",
                            "title": etype,
                            "message": _short(message, 400),
                            "callers": [],
                            "count": 0,
                            "request": None,
                            "status": None,
                            "answer": "",
                        },
                    )
                    entry["count"] += 1
                    if caller not in entry["callers"]:
                        entry["callers"].append(caller)
                        caller_failures += counted
                    curl = _error_reproductions(os.path.join(outdir, f"{caller}.log")).get(label)
                    if curl and (entry["request"] is None or len(curl) < len(entry["request"])):
                        entry["request"] = curl
                        low = message.lower()
                        if "aborted" in low or "closed connection" in low or "disconnected" in low:
                            entry["answer"] = "no response: the server closed the connection"
        errored = int(tc.get("errored", 0))
        per_caller.append(
            f"{caller} {report.get('operations', {}).get('tested', 0)} ops / "
            f"{tc.get('generated', 0)} examples / {caller_failures} failures"
            + (f" / {errored} errored cases" if errored else "")
        )

    panics = _panics(os.path.join(outdir, "serve.log"))

    lines: list[str] = []
    groups: dict[str, list[dict]] = {}
    for entry in failures.values():
        groups.setdefault(entry["check"] or "?", []).append(entry)
    order = ["error", "not_a_server_error", "status_code_conformance", "content_type_conformance", "response_schema_conformance", "tool"]
    for check in sorted(groups, key=lambda c: (order.index(c) if c in order else len(order), c)):
        lines.append(
            "## schemathesis errors (not counted: a fault of the tool, not of the API)"
            if check == "tool"
            else "## error (no HTTP answer)" if check == "error" else f"## {check}"
        )
        for e in sorted(groups[check], key=lambda e: e["operation"]):
            head = f"- {e['operation']}: {e['code'] + ' ' if e['code'] else ''}{e['title']}"
            detail = " ".join(e["message"].split())
            lines.append(f"{head} -- {_short(detail, 200)} [{', '.join(e['callers'])}; {e['count']}x]")
            if e["request"]:
                lines.append(f"    request: {_short(e['request'], 600)}")
            if e["status"] is not None or e["answer"]:
                lines.append(f"    answer:  {e['status'] if e['status'] is not None else ''} {e['answer']}".rstrip())
    if panics:
        lines.append("## server panics (serve.log)")
        for k, n in sorted(panics.items()):
            lines.append(f"- {k} ({n}x)")
    if harness_problems:
        lines.append("## harness")
        lines.extend(f"- {p}" for p in harness_problems)

    tool_errors = sum(1 for e in failures.values() if e["check"] == "tool")
    total = len(failures) - tool_errors + len(panics) + len(harness_problems)
    text = "\n".join(lines)
    with open(os.path.join(outdir, "failures.md"), "w", encoding="utf-8") as f:
        f.write("# contract failures\n\n" + (text or "none") + "\n")
    if text:
        print(text)
    print("contract: callers: " + "; ".join(per_caller))
    print(
        f"contract: {len(operations)} operations, {examples} examples, {total} failures"
        + (f" (incl. {len(panics)} server panics)" if panics else "")
        + (f"; {tool_errors} schemathesis errors not counted" if tool_errors else "")
    )
    sys.exit(1 if total else 0)


COMMANDS = {
    "db-url": (cmd_db_url, 2),
    "serve-url": (cmd_serve_url, 3),
    "wait-ready": (cmd_wait_ready, 2),
    "save-openapi": (cmd_save_openapi, 2),
    "register": (cmd_register, 3),
    "login": (cmd_login, 1),
    "summarize": (cmd_summarize, None),
}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        die(__doc__)
    fn, arity = COMMANDS[sys.argv[1]]
    args = sys.argv[2:]
    if arity is not None and len(args) != arity:
        die(f"{sys.argv[1]} takes {arity} arguments")
    fn(*args)
