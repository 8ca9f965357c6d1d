#!/usr/bin/env python3
"""CityGrid interchange v1 conformance kit.

A reference client written from the standard alone: the JSON Schema files
(schemas/json/v1), the examples (schemas/examples, schemas/examples/negative) and the
transport page (schemas/AMQP.md). It uses no CityGrid code.

  district  acts as one district against a city exchange: runs a case through the loop
            (with photos), answers the city's sync and media requests, sends every negative
            example and the checks of AMQP.md's table and expects the rejection each one
            gets, reconciles a day, and reads the result back from the city API.
  inspect   listens, as the city's broker user, to what a district publishes for a while
            and checks every message against the standard.

Each check prints one PASS or FAIL line; the exit status is 0 only when nothing failed
(2 for a usage or setup error). See README.md beside this file.
"""

import argparse
import base64
import copy
import hashlib
import json
import os
import re
import struct
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
import zlib
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import jsonschema
import pika
import pika.exceptions

SCHEMA = "citygrid.interchange/v1"
DISTRICTS_EXCHANGE = "citygrid.districts"
MAX_MESSAGE_BYTES = 512 * 1024
CHUNK_BYTES = 256 * 1024
DISTRICT_KINDS = (
    "case_snapshot",
    "business_record",
    "media_manifest",
    "media_chunk",
    "sync_batch",
    "supervision_ack",
    "reconciliation_digest",
)
CITY_KINDS = (
    "sync_request", "supervision_order", "rejection", "media_request", "city_problem",
    "referral_decision", "report_notice",
)
# Kinds that carry a seq but are not positions of the district's stream (AMQP.md, Sequence).
NOT_STREAM_KINDS = ("media_chunk", "sync_batch")
# AMQP.md, Reconciliation: the worked example and the hash of nothing.
DIGEST_WORKED_EXAMPLE = (
    [("5c1e9b7a-3f2d-4e8c-a6b0-9d4f2e7c1b58", 3), ("0a8f4c2e-6b1d-4f3a-9c7e-2d5b8e1f0a36", 7)],
    "065fbb5346b85d58766d00a0cd3bb25535bb079fb6a4c067504fc36775de53e7",
)
DIGEST_OF_NOTHING = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")


class Failed(Exception):
    """A failure after which the run cannot go on."""


class Checks:
    """Prints one line per check and counts the failures."""

    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, ok, what, reason=""):
        if ok:
            self.passed += 1
            print(f"PASS {what}", flush=True)
        else:
            self.failed += 1
            print(f"FAIL {what}: {reason}", flush=True)
        return ok

    def fatal(self, what, reason):
        self.check(False, what, reason)
        error = Failed(what)
        error.reported = True
        raise error

    @staticmethod
    def info(text):
        print(f"INFO {text}", flush=True)

    def summary(self):
        print(f"conformance: {self.passed + self.failed} checks, {self.failed} failing", flush=True)
        return 1 if self.failed else 0


# ---------------------------------------------------------------------------------------
# The JSON Schemas
# ---------------------------------------------------------------------------------------


def format_checker():
    """The schemas' formats as assertions: date-time is RFC 3339; integers fit their width."""
    checker = jsonschema.FormatChecker()

    @checker.checks("date-time")
    def is_date_time(value):
        if not isinstance(value, str):
            return True
        if not RFC3339.match(value):
            return False
        try:
            datetime.fromisoformat(value.replace("z", "Z").replace("t", "T"))
        except ValueError:
            return False
        return True

    widths = {"uint32": (0, 2**32 - 1), "uint64": (0, 2**64 - 1), "int64": (-(2**63), 2**63 - 1)}
    for name, (low, high) in widths.items():
        checker.checks(name)(
            lambda value, low=low, high=high: not isinstance(value, int) or low <= value <= high
        )
    return checker


def load_schemas(directory):
    """One validator per file of `directory`: `<kind>.json` for each kind (and `details.json`,
    a business record's details per action, where the standard has it)."""
    checker = format_checker()
    validators = {}
    for path in sorted(Path(directory).glob("*.json")):
        schema = json.loads(path.read_text(encoding="utf-8"))
        cls = jsonschema.validators.validator_for(schema)
        cls.check_schema(schema)
        validators[path.stem] = cls(schema, format_checker=checker)
    missing = [k for k in DISTRICT_KINDS + CITY_KINDS if k not in validators]
    if missing:
        raise SystemExit(f"no JSON Schema for {', '.join(missing)} in {directory}")
    return validators


def json_path(path):
    return ".".join(str(p) for p in path)


def error_paths(error):
    """The JSON paths an error names, with those of its anyOf/oneOf branches. A missing
    member is named by its own path (`body.state`), as the city's rejections name it."""
    path = list(error.absolute_path)
    if error.validator == "required":
        missing = [m for m in error.validator_value if m not in error.instance]
        path += missing[:1]
    paths = {json_path(path)}
    for sub in error.context or ():
        paths |= error_paths(sub)
    return paths


def schema_errors(validators, envelope):
    """[(path, message)] of what the kind's JSON Schema refuses in `envelope`."""
    kind = envelope.get("kind") if isinstance(envelope, dict) else None
    validator = validators.get(kind)
    if validator is None:
        return [("kind", f"no JSON Schema for kind {kind!r}")]
    errors = [
        (json_path(e.absolute_path), e.message)
        for e in sorted(
            validator.iter_errors(envelope), key=lambda e: list(str(p) for p in e.absolute_path)
        )
    ]
    # details.json, where the schemas have it, gives a business record's `details` per action.
    details = validators.get("details")
    if kind == "business_record" and details is not None and isinstance(envelope.get("body"), dict):
        errors += [
            (json_path(["body", *e.absolute_path]), e.message)
            for e in details.iter_errors(envelope["body"])
        ]
    return errors


def schema_refuses_at(validators, envelope, field):
    """Whether the schema refuses `envelope` and names `field` among its errors."""
    validator = validators.get(envelope.get("kind"))
    if validator is None:
        return False, "no schema for its kind"
    paths = set()
    for error in validator.iter_errors(envelope):
        paths |= error_paths(error)
    return field in paths, ", ".join(sorted(paths)) or "the schema accepts it"


# ---------------------------------------------------------------------------------------
# Small helpers: time, bytes, the digest
# ---------------------------------------------------------------------------------------


def utc_now():
    return datetime.now(timezone.utc).replace(microsecond=0)


def iso(moment):
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text):
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def encode(envelope):
    return json.dumps(envelope, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def digest_hash(cases):
    """AMQP.md, Reconciliation: SHA-256 over sorted `<case id>:<version>\\n` lines."""
    lines = sorted(f"{str(uuid.UUID(case_id))}:{int(version)}\n" for case_id, version in cases)
    return hashlib.sha256("".join(lines).encode("ascii")).hexdigest()


def noise_png(width, height):
    """A real PNG of random pixels (incompressible, so its size is about 3 * w * h)."""

    def chunk(tag, data):
        crc = zlib.crc32(tag + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", crc)

    rows = b"".join(b"\x00" + os.urandom(width * 3) for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows, 1))
        + chunk(b"IEND", b"")
    )


def load_json(path):
    return json.loads(Path(path).read_text(encoding="utf-8"))


# ---------------------------------------------------------------------------------------
# The city API (docs/CITY-API.md)
# ---------------------------------------------------------------------------------------


class CityApi:
    def __init__(self, base, user, password):
        self.base = base.rstrip("/")
        self.user = user
        self.password = password
        self.token = None

    def _call(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode("utf-8")
        request = urllib.request.Request(self.base + path, data=data, method=method)
        request.add_header("accept", "application/json")
        if data is not None:
            request.add_header("content-type", "application/json")
        if self.token:
            request.add_header("authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            raw = error.read()
            try:
                return error.code, json.loads(raw)
            except ValueError:
                return error.code, raw.decode("utf-8", "replace")

    def login(self):
        self.token = None
        status, body = self._call(
            "POST", "/api/v1/auth/token", {"username": self.user, "password": self.password}
        )
        if status != 200 or not isinstance(body, dict) or "token" not in body:
            raise Failed(f"city sign-in as {self.user}: {status} {body}")
        self.token = body["token"]

    def get(self, path):
        if self.token is None:
            self.login()
        status, body = self._call("GET", path)
        if status == 401:
            self.login()
            status, body = self._call("GET", path)
        return status, body

    def district_status(self, code):
        """The district's entry of GET /api/v1/city/exchange/status ({} when not listed)."""
        status, body = self.get("/api/v1/city/exchange/status")
        if status != 200:
            raise Failed(f"GET /api/v1/city/exchange/status: {status} {body}")
        entries = body.get("districts", []) if isinstance(body, dict) else body
        for entry in entries or []:
            if entry.get("district") == code:
                return entry
        return {}

    def case(self, code, case_id):
        return self.get(f"/api/v1/city/cases/{code}/{case_id}")


# ---------------------------------------------------------------------------------------
# The district: its stream, what it keeps, what it answers
# ---------------------------------------------------------------------------------------


class District:
    """One district's side of the interchange: publishing, its outbox, its command queue."""

    def __init__(self, args, validators, checks):
        self.code = args.district
        self.checks = checks
        self.validators = validators
        url = urllib.parse.urlparse(args.amqp)
        self.user = args.user or urllib.parse.unquote(url.username or "")
        if not self.user:
            raise SystemExit("the AMQP URL names no user (or pass --user)")
        self.connection = pika.BlockingConnection(pika.URLParameters(args.amqp))
        self.publisher = self.connection.channel()
        self.publisher.confirm_delivery()
        self.consumer = self.connection.channel()
        self.consumer.basic_qos(prefetch_count=100)
        self.inbox = []
        self.consumer.basic_consume(
            f"district.{self.code}.commands", self._on_command, auto_ack=False
        )
        self.seq = 0  # the newest seq of the stream (the outbox's counter)
        self.outbox = {}  # seq -> envelope the city holds (or will get by sync)
        self.chunks = {}  # photo sha256 -> [(message_id, bytes)], the correct chunks
        self.cases = {}  # case id -> (version, created_at) as of self.seq
        self.rejections = []  # received, not yet matched to what provoked them
        self.rejections_received = 0
        self.seen_commands = set()
        self.sync_requests = []
        self.media_requests = []
        self.commands_checked = {}
        self.api = None  # the city API, to tell a refusal that never came from an acceptance

    # -- publishing ----------------------------------------------------------------------

    def publish_raw(
        self,
        key,
        body,
        *,
        message_id,
        type_,
        delivery_mode=2,
        user_id="",
        content_type="application/json",
    ):
        """Publishes with confirms and the mandatory flag; raises if the broker refuses."""
        properties = pika.BasicProperties(
            delivery_mode=delivery_mode,
            content_type=content_type,
            message_id=message_id,
            type=type_,
            user_id=self.user if user_id == "" else user_id,
        )
        self.publisher.basic_publish(
            DISTRICTS_EXCHANGE, key, body, properties=properties, mandatory=True
        )

    def send(self, envelope, *, message_id=None, what=None):
        """Checks `envelope` against its kind's schema, then publishes it as the standard says."""
        kind = envelope["kind"]
        errors = schema_errors(self.validators, envelope)
        label = what or f"{kind} seq {envelope['seq']}"
        if errors:
            self.checks.fatal(
                f"{label} conforms to json/v1/{kind}.json before sending",
                "; ".join(f"{p or '(root)'}: {m}" for p, m in errors[:5]),
            )
        body = encode(envelope)
        if len(body) > MAX_MESSAGE_BYTES:
            self.checks.fatal(f"{label} is at most 512 KiB", f"{len(body)} bytes")
        message_id = message_id or f"{self.code}-{envelope['seq']}"
        self.publish_raw(f"district.{self.code}.{kind}", body, message_id=message_id, type_=kind)
        self.checks.check(
            True, f"{label} ({message_id}) conforms to its JSON Schema; published, confirmed"
        )
        if kind not in NOT_STREAM_KINDS:
            self.keep(envelope)

    def keep(self, envelope):
        """Records a stream message as part of what the district holds."""
        seq = envelope["seq"]
        self.outbox[seq] = envelope
        self.seq = max(self.seq, seq)
        if envelope["kind"] == "case_snapshot":
            body = envelope["body"]
            held = self.cases.get(body["case_id"])
            if held is None or held[0] < body["version"]:
                self.cases[body["case_id"]] = (body["version"], body["created_at"])

    def envelope(self, kind, body, seq=None):
        return {
            "schema": SCHEMA,
            "kind": kind,
            "district": self.code,
            "seq": self.seq + 1 if seq is None else seq,
            "sent_at": iso(utc_now()),
            "body": body,
        }

    def photo(self, data, content_type, case_id, corrupt=False):
        """Chunks then manifest (AMQP.md, Media), all under the manifest's seq."""
        digest = hashlib.sha256(data).hexdigest()
        seq = self.seq + 1
        pieces = [data[i : i + CHUNK_BYTES] for i in range(0, len(data), CHUNK_BYTES)]
        correct = []
        for index, piece in enumerate(pieces):
            body = {
                "sha256": digest,
                "index": index,
                "count": len(pieces),
                "data": base64.b64encode(piece).decode("ascii"),
            }
            chunk = self.envelope("media_chunk", body, seq)
            message_id = f"{self.code}-{seq}-chunk-{index}"
            correct.append((message_id, encode(chunk)))
            if corrupt and index == 0:
                wrong = bytes([piece[0] ^ 0xFF]) + piece[1:]
                chunk = copy.deepcopy(chunk)
                chunk["body"]["data"] = base64.b64encode(wrong).decode("ascii")
            self.send(
                chunk,
                message_id=message_id,
                what=f"media_chunk {index + 1}/{len(pieces)} of {digest[:12]}"
                + (" (deliberately corrupted)" if corrupt and index == 0 else ""),
            )
        self.chunks[digest] = correct
        manifest = self.envelope(
            "media_manifest",
            {
                "sha256": digest,
                "content_type": content_type,
                "size_bytes": len(data),
                "chunk_bytes": CHUNK_BYTES,
                "chunks": len(pieces),
                "case_id": case_id,
            },
            seq,
        )
        self.send(manifest, what=f"media_manifest seq {seq} of {digest[:12]}")
        return digest, seq

    # -- the command queue ---------------------------------------------------------------

    def _on_command(self, channel, method, properties, body):
        self.inbox.append((method, properties, body))

    def pump(self, seconds=0.2):
        """Lets the connection work for a moment and handles what came in."""
        self.connection.process_data_events(time_limit=seconds)
        while self.inbox:
            method, properties, body = self.inbox.pop(0)
            try:
                self.handle_command(method, properties, body)
            finally:
                self.consumer.basic_ack(method.delivery_tag)

    def handle_command(self, method, properties, raw):
        try:
            message = json.loads(raw)
        except ValueError:
            message = None
        if not isinstance(message, dict):
            self.checks.check(False, "a command from the city is a JSON object", repr(raw[:200]))
            return
        kind = message.get("kind")
        problems = [f"{p or '(root)'}: {m}" for p, m in schema_errors(self.validators, message)]
        if kind not in CITY_KINDS:
            problems.append(f"kind {kind!r} is not a city → district kind")
        if method.routing_key != f"city.{self.code}.{kind}":
            problems.append(f"routing key {method.routing_key}")
        if properties.type != kind:
            problems.append(f"type property {properties.type!r}")
        if properties.delivery_mode != 2:
            problems.append(f"delivery_mode {properties.delivery_mode}")
        if not properties.message_id:
            problems.append("no message_id property")
        if message.get("district") != self.code:
            problems.append(f"district {message.get('district')!r}")
        counts = self.commands_checked.setdefault(kind, [0, 0])
        counts[0] += 1
        if problems:
            counts[1] += 1
            self.checks.check(
                False,
                f"city → district {kind} {properties.message_id} conforms",
                "; ".join(problems[:5]),
            )
        # At least once: the same command can come twice.
        if properties.message_id and properties.message_id in self.seen_commands:
            return
        if properties.message_id:
            self.seen_commands.add(properties.message_id)
        body = message.get("body") if isinstance(message.get("body"), dict) else {}
        if kind == "rejection":
            self.rejections_received += 1
            self.rejections.append(body)
        elif kind == "sync_request":
            self.answer_sync(body)
        elif kind == "media_request":
            self.answer_media(body)
        else:
            self.checks.info(f"{kind} received and left unanswered: {body}")

    def answer_sync(self, request):
        """AMQP.md, Sync: the original envelopes unchanged, in batches under the size limit."""
        first = request["from_seq"]
        last = request.get("to_seq") or self.seq
        wanted = [self.outbox[s] for s in range(first, last + 1) if s in self.outbox]
        self.checks.info(
            f"sync_request {request['request_id']} for seq {first}..{request.get('to_seq')}: "
            f"answering with {len(wanted)} message(s)"
        )
        batches, current = [], []
        for envelope in wanted:
            trial = self.sync_batch(request["request_id"], current + [envelope], False)
            if current and len(encode(trial)) > MAX_MESSAGE_BYTES:
                batches.append(current)
                current = []
            current.append(envelope)
        batches.append(current)
        for n, messages in enumerate(batches, start=1):
            batch = self.sync_batch(request["request_id"], messages, n == len(batches))
            self.send(
                batch,
                message_id=f"{self.code}-sync-{request['request_id']}-{n}",
                what=f"sync_batch {n}/{len(batches)} for {request['request_id']}",
            )
        self.sync_requests.append(request)

    def sync_batch(self, request_id, messages, last):
        oldest = min(self.outbox) if self.outbox else None
        return self.envelope(
            "sync_batch",
            {
                "request_id": request_id,
                "messages": messages,
                "last": last,
                "oldest_retained_seq": oldest if oldest and oldest > 1 else None,
            },
            self.seq,
        )

    def answer_media(self, request):
        """AMQP.md, Media: the chunks again, under the manifest's seq, as first sent."""
        for digest in request.get("sha256", []):
            chunks = self.chunks.get(digest)
            if chunks is None:
                self.checks.info(
                    f"media_request for {digest[:12]}, a photo this district never had"
                )
                continue
            for message_id, body in chunks:
                self.publish_raw(
                    f"district.{self.code}.media_chunk",
                    body,
                    message_id=message_id,
                    type_="media_chunk",
                )
            self.checks.info(f"media_request for {digest[:12]}: {len(chunks)} chunk(s) sent again")
        self.media_requests.append(request)

    # -- waiting -------------------------------------------------------------------------

    def wait_for(self, predicate, timeout, poll=0.5):
        """Pumps the connection until `predicate()` is truthy (its value) or the time is up."""
        deadline = time.monotonic() + timeout
        next_poll = 0.0
        while True:
            self.pump(0.1)
            if time.monotonic() >= next_poll:
                value = predicate()
                if value:
                    return value
                next_poll = time.monotonic() + poll
            if time.monotonic() > deadline:
                return predicate()

    def take_rejection(self, message_id, timeout):
        """The first unmatched rejection naming `message_id` (None for 'no message_id')."""

        def find():
            for i, rejection in enumerate(self.rejections):
                if rejection.get("message_id") == message_id:
                    return self.rejections.pop(i)
            return None

        return self.wait_for(find, timeout, poll=0.05)

    def close(self):
        try:
            self.connection.close()
        except pika.exceptions.AMQPError:
            pass


# ---------------------------------------------------------------------------------------
# The case: one loop, report → file → dispatch → handle → check_pass → close
# ---------------------------------------------------------------------------------------

# What a category without `edition` is of (json/v1 Category).
LEGACY_EDITION = "GB/T 30428.2-2013"
STAGE_LIMITS = {"filing": 60, "dispatch": 30, "handling": 240, "check": 120}
# action, from, to, role, milestone, stage it ends, stage it starts
STEPS = [
    ("report", None, "reported", "supervisor", "reported_at", None, "filing"),
    ("file", "reported", "filed", "operator", "filed_at", "filing", "dispatch"),
    ("dispatch", "filed", "dispatched", "dispatcher", "dispatched_at", "dispatch", "handling"),
    ("handle", "dispatched", "handled", "handler", "handled_at", "handling", "check"),
    ("check_pass", "handled", "checked", "supervisor", "checked_at", "check", None),
    ("close", "checked", "closed", "operator", "finished_at", None, None),
]


def stage_clock(stage, started):
    limit = STAGE_LIMITS[stage]
    return {
        "stage": stage,
        "clock": "natural",
        "started_at": iso(started),
        "limit_minutes": limit,
        "deadline": iso(started + timedelta(minutes=limit)),
        "yellow_at": iso(started + timedelta(minutes=limit * 4 // 5)),
    }


def placed(street):
    """Street, community and grid cell (v1.2) of a case in `street`: the example's place is
    in 330102, and the city refuses a cell outside the sender's district and street."""
    community = f"{street}001"
    return {"street_code": street, "community_code": community, "cell_code": f"{community}001"}


def moved(message, code):
    """`message` sent by district `code` instead: its district, and the street, community
    and cell codes that began with the old district's code begin with `code` (a code that
    did not, as in a negative example about exactly that, is left as it is)."""
    old = message.get("district")
    message["district"] = code
    body = message.get("body")
    if isinstance(body, dict) and old:
        for key in ("street_code", "community_code", "cell_code"):
            value = body.get(key)
            if isinstance(value, str) and value.startswith(old):
                body[key] = code + value[len(old):]
    return message


def new_case(example, args, created):
    """Version 0 of a case, shaped like examples/case_snapshot.json."""
    case = copy.deepcopy(example["body"])
    case.update(placed(args.street_code or f"{args.district}001"))
    case.update(
        {
            "case_id": str(uuid.uuid4()),
            "number": int(time.time()) % 1_000_000,
            "version": 0,
            "state": None,
            "source": "supervisor",
            "urgency": "normal",
            "description": f"暴露垃圾: conformance kit {created:%Y-%m-%d %H:%M}",
            "category": None,
            "department_code": None,
            "current_stage": None,
            "duplicate_of": None,
            "extension_minutes": 0,
            "milestones": {k: None for k in example["body"]["milestones"]},
            "reporter_id": str(uuid.uuid4()),
            "return_count": 0,
            "rework_count": 0,
            "satisfaction": None,
            "supervision_level": None,
            "supervision_pending": False,
            "verified": None,
            "created_at": iso(created),
            "updated_at": iso(created),
        }
    )
    return case


def advance(case, step, at, args, record_id, actors, media):
    """Applies one step to `case`; returns the business record it produces."""
    action, from_state, to_state, role, milestone, ends, starts = step
    ended = None
    if ends:
        running = case["current_stage"]
        ended = {
            "stage": ends,
            "clock": running["clock"],
            "started_at": running["started_at"],
            "deadline": running["deadline"],
            "ended_at": iso(at),
            "on_time": at <= parse_time(running["deadline"]),
        }
    # The step's facts, one shape per action (details.json where the schemas have it).
    details = {}
    if action == "report":
        details = {"source": case["source"]}
    if action == "file":
        case["category"] = args.category
        details = {
            "category": args.category,
            "category_name": args.category_name,
            "standard": args.category.get("edition") or LEGACY_EDITION,
        }
    if action == "dispatch":
        case["department_code"] = args.department
        details = {"department": args.department}
    if action == "check_pass":
        details = {"department": case["department_code"], "passed": True}
    case["version"] += 1
    case["state"] = to_state
    case["current_stage"] = stage_clock(starts, at) if starts else None
    case["milestones"][milestone] = iso(at)
    case["updated_at"] = iso(at)
    return {
        "record_id": record_id,
        "case_id": case["case_id"],
        "case_version": case["version"],
        "action": action,
        "from_state": from_state,
        "to_state": to_state,
        "actor_id": actors[role],
        "actor_role": role,
        "comment": None,
        "details": details,
        "media": media,
        "stage_ended": ended,
        "at": iso(at),
    }


def run_loop(district, examples, args, checks):
    """The case through the loop. Two repairs on the way (unless --no-repairs): one message
    withheld (the city must ask for it with a sync_request), one photo sent with a corrupted
    chunk (the city must refuse it with media_mismatch and ask for the bytes again)."""
    now = utc_now()
    created = now - timedelta(minutes=20)
    case = new_case(examples["case_snapshot"], args, created)
    actors = {role: str(uuid.uuid4()) for _, _, _, role, *_ in STEPS}
    actors["supervisor"] = case["reporter_id"]
    photos = []
    repairs = not args.no_repairs
    checks.info(f"case {case['case_id']} created {case['created_at']}")
    for n, step in enumerate(STEPS):
        action = step[0]
        at = created + timedelta(minutes=3 * n)
        media = []
        if action == "report":
            data = noise_png(320, 300)  # > 256 KiB: two chunks
            digest, _ = district.photo(data, "image/png", case["case_id"])
            media, photos = [digest], photos + [digest]
        if action == "handle":
            data = noise_png(24, 24)
            digest, manifest_seq = district.photo(
                data, "image/png", case["case_id"], corrupt=repairs
            )
            media, photos = [digest], photos + [digest]
        record = advance(case, step, at, args, n + 1, actors, media)
        record_env = district.envelope("business_record", record)
        withhold = repairs and action == "file"
        if withhold:
            district.keep(record_env)
            checks.info(f"business_record seq {record_env['seq']} withheld (lost in transit)")
        else:
            district.send(record_env, what=f"business_record seq {record_env['seq']} ({action})")
        snapshot = district.envelope("case_snapshot", copy.deepcopy(case))
        district.send(
            snapshot,
            what=f"case_snapshot seq {snapshot['seq']} (v{case['version']} {case['state']})",
        )
        if withhold:
            lost = record_env["seq"]
            asked = district.wait_for(
                lambda: any(
                    r["from_seq"] <= lost <= (r.get("to_seq") or district.seq)
                    for r in district.sync_requests
                ),
                args.repair_timeout,
            )
            checks.check(
                asked,
                f"the city asked for the lost seq {lost} (sync_request) and got a sync_batch",
                f"no sync_request within {args.repair_timeout}s",
            )
        if repairs and action == "handle":
            rejection = district.take_rejection(f"{district.code}-{manifest_seq}", args.timeout)
            checks.check(
                rejection is not None
                and rejection.get("code") == "media_mismatch"
                and rejection.get("seq") == manifest_seq,
                f"a corrupted chunk gets media_mismatch naming the manifest "
                f"({district.code}-{manifest_seq}, seq {manifest_seq})",
                f"got {rejection}",
            )
            asked = district.wait_for(
                lambda: any(digest in r.get("sha256", []) for r in district.media_requests),
                args.repair_timeout,
            )
            checks.check(
                asked,
                f"the city asked for photo {digest[:12]} again (media_request); chunks re-sent",
                f"no media_request within {args.repair_timeout}s",
            )
    return case, photos


# ---------------------------------------------------------------------------------------
# Rejections: the negative examples and AMQP.md's table
# ---------------------------------------------------------------------------------------


def expect_rejection(district, checks, args, label, message_id, code, field, seq, check_field=True):
    """Waits for the rejection of what was just published and checks it."""
    rejection = district.take_rejection(message_id, args.timeout)
    if rejection is None:
        status = district.api.district_status(district.code)
        if (status.get("last_contiguous_seq") or 0) >= seq:
            checks.check(False, f"{label}: refused", f"the city accepted it at seq {seq}")
            return "accepted"
        checks.check(
            False, f"{label}: refused", f"no rejection naming {message_id} within {args.timeout}s"
        )
        return None
    problems = []
    fields = field if isinstance(field, tuple) else (field,)
    if rejection.get("code") != code:
        problems.append(f"code {rejection.get('code')!r}, expected {code!r}")
    if check_field and rejection.get("field") not in fields:
        problems.append(
            f"field {rejection.get('field')!r}, expected {' or '.join(map(repr, fields))}"
        )
    checks.check(
        not problems,
        f"{label}: refused with {code}"
        + (f" at {' or '.join(map(str, fields))}" if field and check_field else "")
        + f", naming {message_id}",
        "; ".join(problems) + f" (rejection: {rejection})",
    )
    return rejection


def run_negative_files(district, examples, args, checks):
    """Every file of examples/negative: the city refuses it at its field; json/v1 refuses it too
    when the file's `layer` is "schema", and accepts it when the rule is "semantic" (beyond
    what JSON Schema says). After the first refused case snapshot, the repaired message goes
    out under the same seq."""
    repaired = None
    for path in sorted(Path(args.examples, "negative").glob("*.json")):
        negative = load_json(path)
        message = moved(copy.deepcopy(negative["message"]), district.code)
        seq = district.seq + 1
        if negative["field"] != "seq":
            message["seq"] = seq
        body = message.get("body", {})
        if "case_id" in body:
            body["case_id"] = str(uuid.uuid4())
        if message["kind"] == "reconciliation_digest":
            body["up_to_seq"] = district.seq
        label = f"negative {path.name} ({negative['rule']})"
        refuses, paths = schema_refuses_at(district.validators, message, negative["field"])
        if negative.get("layer", "schema") == "schema":
            checks.check(refuses, f"{label}: json/v1 refuses it at {negative['field']}", paths)
        else:
            validator = district.validators.get(message["kind"])
            checks.check(
                validator is not None and validator.is_valid(message),
                f"{label}: json/v1 accepts it (a rule beyond the schema)",
                paths,
            )
        message_id = f"{district.code}-{message['seq']}"
        if message["kind"] == "media_chunk":
            message_id = f"{message_id}-chunk-{body.get('index')}"
        district.publish_raw(
            f"district.{district.code}.{message['kind']}",
            encode(message),
            message_id=message_id,
            type_=message["kind"],
        )
        outcome = expect_rejection(
            district, checks, args, label, message_id, negative["code"], negative["field"], seq
        )
        if outcome == "accepted":
            district.keep(message)
            continue
        if repaired is None and message["kind"] == "case_snapshot":
            # The repair: the standard's own example, under the refused message's seq and id.
            fixed = moved(copy.deepcopy(examples[message["kind"]]), district.code)
            fixed["seq"] = seq
            fixed["body"]["case_id"] = body["case_id"]
            district.send(fixed, what=f"repaired {path.name}, same seq {seq}")
            repaired = fixed
            applied = district.wait_for(
                lambda: (
                    district.api.district_status(district.code).get("last_contiguous_seq") or 0
                )
                >= seq,
                args.timeout,
            )
            status, held = district.api.case(district.code, fixed["body"]["case_id"])
            checks.check(
                applied
                and status == 200
                and held.get("case", {}).get("version") == fixed["body"]["version"],
                f"after a refusal the next valid message reuses seq {seq}, and the city applies it",
                f"applied={bool(applied)}, GET case: {status} {str(held)[:300]}",
            )
    return repaired


def table_checks(district, examples):
    """AMQP.md 'What the city checks': one message per row the negative files do not cover,
    each with the rejection code and field the table gives it."""
    code = district.code
    seq = district.seq + 1  # every one is refused, so every one has the next seq
    snap_id = f"{code}-{seq}"

    def row(
        label,
        message,
        rejection_code,
        field,
        key_kind="case_snapshot",
        named=snap_id,
        check_field=True,
        **properties,
    ):
        # properties: overrides of publish_raw's message_id, type_, delivery_mode, user_id
        return {
            "label": f"AMQP.md table: {label}",
            "message": message,
            "key_kind": key_kind,
            "properties": {"message_id": named, "type_": key_kind, **properties},
            "code": rejection_code,
            "field": field,
            "named": named,
            "check_field": check_field,
        }

    def snapshot(**changes):
        body = copy.deepcopy(examples["case_snapshot"]["body"])
        body.update({"case_id": str(uuid.uuid4()), **placed(f"{code}001")}, **changes)
        return district.envelope("case_snapshot", body, seq)

    def chunk(**changes):
        data = base64.b64encode(b"x").decode("ascii")
        body = {"sha256": hashlib.sha256(b"x").hexdigest(), "index": 0, "count": 1, "data": data}
        return district.envelope("media_chunk", dict(body, **changes), seq)

    valid = snapshot()
    missing_state = copy.deepcopy(valid)
    del missing_state["body"]["state"]
    unknown = dict(valid, kind="weather_report")
    wrong_direction = district.envelope("sync_request", examples["sync_request"]["body"], seq)
    chunk_0, chunk_1 = f"{code}-{seq}-chunk-0", f"{code}-{seq}-chunk-1"
    no_category = snapshot(state="filed", category=None, department_code=None)
    not_in_catalogue = snapshot(category={"kind": "event", "major": "00", "minor": "00"})
    return [
        # The table gives `kind` as the field of its JSON row; a body that is not JSON has none.
        row("not JSON", b"{ not json", "malformed", None, check_field=False),
        row("no message_id property", valid, "malformed", "message_id", named=None),
        row(
            "type property other than the kind", valid, "malformed", "type", type_="business_record"
        ),
        row(
            "not persistent (delivery_mode 1)", valid, "malformed", "delivery_mode", delivery_mode=1
        ),
        row("no user_id property", valid, "wrong_district", None, user_id=None),
        row(
            "larger than 512 KiB",
            snapshot(description="x" * (MAX_MESSAGE_BYTES + 1024)),
            "too_large",
            None,
        ),
        row(
            "kind other than the routing key's",
            valid,
            "malformed",
            "kind",
            key_kind="business_record",
        ),
        row("a kind v1 does not have", unknown, "unknown_kind", "kind", key_kind="weather_report"),
        row(
            "a city → district kind",
            wrong_direction,
            "wrong_direction",
            "kind",
            key_kind="sync_request",
        ),
        row(
            "schema other than citygrid.interchange/v1",
            dict(valid, schema="citygrid.interchange/v2"),
            "malformed",
            "schema",
        ),
        row(
            "district other than the sender's",
            dict(valid, district="000000" if code != "000000" else "999999"),
            "wrong_district",
            "district",
        ),
        row(
            "seq 0 (seq is a positive integer)",
            dict(valid, seq=0),
            "invalid_body",
            "seq",
            named=f"{code}-0",
        ),
        # The table says `body.<path>`; for a missing member JSON Schema's own errors name
        # the object that lacks it. Either is taken.
        row("a required body field missing", missing_state, "invalid_body", ("body.state", "body")),
        row(
            "chunk data not base64",
            chunk(data="not base64!"),
            "invalid_body",
            "body.data",
            key_kind="media_chunk",
            named=chunk_0,
        ),
        row(
            "chunk index not below count",
            chunk(index=1),
            "invalid_body",
            "body.index",
            key_kind="media_chunk",
            named=chunk_1,
        ),
        row("snapshot version 0", snapshot(version=0), "invalid_body", "body.version"),
        row(
            "category not in the district's catalogue",
            not_in_catalogue,
            "invalid_body",
            "body.category",
        ),
        row("filed case without category", no_category, "invalid_body", "body.category"),
        row(
            "dispatched case without department_code",
            snapshot(department_code=None),
            "invalid_body",
            "body.department_code",
        ),
    ]


def run_table_checks(district, examples, args, checks):
    for row in table_checks(district, examples):
        label, message = row["label"], row["message"]
        if isinstance(message, dict):
            paths = sorted({p for p, _ in schema_errors(district.validators, message)})
            checks.info(
                f"{label}: json/v1 "
                + (f"refuses it at {', '.join(paths)}" if paths else "accepts it (AMQP.md's rule)")
            )
        body = message if isinstance(message, bytes) else encode(message)
        key = f"district.{district.code}.{row['key_kind']}"
        district.publish_raw(key, body, **row["properties"])
        outcome = expect_rejection(
            district,
            checks,
            args,
            label,
            row["named"],
            row["code"],
            row["field"],
            district.seq + 1,
            row["check_field"],
        )
        if outcome == "accepted" and isinstance(message, dict):
            district.keep(message)
        elif not row["check_field"] and isinstance(outcome, dict):
            checks.info(f"{label}: the city named field {outcome.get('field')!r}")

    # A seq the city holds, sent again with other content: conflict.
    held = next(e for s, e in sorted(district.outbox.items()) if e["kind"] == "case_snapshot")
    changed = copy.deepcopy(held)
    changed["body"]["description"] += " (changed)"
    message_id = f"{district.code}-{held['seq']}"
    district.publish_raw(
        f"district.{district.code}.case_snapshot",
        encode(changed),
        message_id=message_id,
        type_="case_snapshot",
    )
    expect_rejection(
        district,
        checks,
        args,
        f"AMQP.md table: seq {held['seq']} again with other content",
        message_id,
        "conflict",
        None,
        district.seq + 1,
    )

    # The same message twice, byte for byte (a redelivery): acknowledged without effect.
    newest = district.outbox[district.seq]
    district.publish_raw(
        f"district.{district.code}.{newest['kind']}",
        encode(newest),
        message_id=f"{district.code}-{newest['seq']}",
        type_=newest["kind"],
    )
    checks.info(f"seq {newest['seq']} published a second time, unchanged (a redelivery)")


# ---------------------------------------------------------------------------------------
# Reconciliation and the city's view
# ---------------------------------------------------------------------------------------


def reconcile(district, case, args, checks):
    worked, expected = DIGEST_WORKED_EXAMPLE
    checks.check(
        digest_hash(worked) == expected and digest_hash([]) == DIGEST_OF_NOTHING,
        "the digest byte format reproduces AMQP.md's worked example and the hash of nothing",
        digest_hash(worked),
    )
    zone = ZoneInfo(args.time_zone)
    day = parse_time(case["created_at"]).astimezone(zone).date()
    held = [
        (case_id, version)
        for case_id, (version, created_at) in district.cases.items()
        if parse_time(created_at).astimezone(zone).date() == day
    ]
    up_to = district.seq
    digest = district.envelope(
        "reconciliation_digest",
        {
            "day": day.isoformat(),
            "cases": len(held),
            "sha256": digest_hash(held),
            "up_to_seq": up_to,
        },
    )
    what = f"reconciliation_digest seq {digest['seq']} for {day}: {len(held)} case(s)"
    district.send(digest, what=f"{what}, up to seq {up_to}")
    return day.isoformat()


def verify_city(district, api, case, photos, day, repaired, args, checks):
    code = district.code
    last = district.seq

    def status_ok():
        status = api.district_status(code)
        ok = (
            status.get("last_contiguous_seq") == last
            and status.get("waiting", 0) == 0
            and status.get("last_digest_day") == day
            and status.get("last_digest_matches") is True
            and (status.get("media_verified") or 0) >= len(photos)
        )
        return status if ok else None

    status = district.wait_for(status_ok, args.timeout, poll=0.5)
    final = api.district_status(code)
    checks.check(
        status is not None,
        f"city status: stream applied to seq {last}, nothing waiting, {len(photos)} photo(s) "
        f"verified, digest of {day} matches",
        f"status {final}",
    )
    checks.check(
        final.get("media_unrepaired", 0) == 0,
        "city status: no photo unrepaired",
        f"media_unrepaired {final.get('media_unrepaired')}",
    )
    checks.check(
        final.get("rejections") == district.rejections_received,
        f"city status counts the {district.rejections_received} rejection(s) the district received",
        f"rejections {final.get('rejections')}, dead_letters {final.get('dead_letters')}",
    )

    def case_ok():
        status, held = api.case(code, case["case_id"])
        if status != 200:
            return None
        if held.get("case", {}).get("version") != case["version"] or held.get("media_missing"):
            return None
        return held

    held = district.wait_for(case_ok, args.timeout, poll=0.5)
    status, latest = api.case(code, case["case_id"])
    checks.check(
        held is not None,
        f"GET /api/v1/city/cases/{code}/{case['case_id']}: version {case['version']} "
        f"({case['state']}), media_missing empty",
        f"{status} {str(latest)[:500]}",
    )
    if held is None:
        return
    differing = sorted(
        k for k in set(case) | set(held["case"]) if case.get(k) != held["case"].get(k)
    )
    checks.check(
        not differing, "the city's case is the last snapshot sent", f"differs in {differing}"
    )
    actions = [r.get("action") for r in held.get("records", [])]
    want = [step[0] for step in STEPS]
    checks.check(
        actions == want,
        f"the city holds the {len(want)} business records in stream order",
        f"records {actions}",
    )
    if repaired is not None:
        status, other = api.case(code, repaired["body"]["case_id"])
        checks.check(
            status == 200 and other.get("case", {}).get("version") == repaired["body"]["version"],
            "the repaired snapshot's case is held by the city",
            f"{status} {str(other)[:300]}",
        )


def run_district(args):
    checks = Checks()
    validators = load_schemas(args.schemas)
    examples = {p.stem: load_json(p) for p in Path(args.examples).glob("*.json")}
    for kind, example in sorted(examples.items()):
        errors = schema_errors(validators, example)
        checks.check(
            not errors, f"example {kind}.json conforms to json/v1/{kind}.json", str(errors)
        )
    args.category = copy.deepcopy(examples["case_snapshot"]["body"]["category"])
    if args.category_code:
        kind, major, minor = args.category_code.split("/")
        args.category = {"kind": kind, "major": major, "minor": minor}
    args.department = args.department or examples["case_snapshot"]["body"]["department_code"]

    api = CityApi(args.city_api, args.city_user, args.city_password)
    try:
        api.login()
        before = api.district_status(args.district)
    except (Failed, OSError) as error:
        print(f"citygrid_conformance: the city API at {args.city_api}: {error}", file=sys.stderr)
        return 2
    if (before.get("last_contiguous_seq") or 0) > 0:
        print(
            f"citygrid_conformance: the city already holds seq 1..{before['last_contiguous_seq']} "
            f"of district {args.district}; the kit needs a district the city has not heard from "
            "(a fresh city, or a registered district code no system uses yet)",
            file=sys.stderr,
        )
        return 2
    try:
        district = District(args, validators, checks)
    except (pika.exceptions.AMQPError, OSError) as error:
        where = urllib.parse.urlparse(args.amqp).hostname
        print(f"citygrid_conformance: the broker at {where}: {error!r}", file=sys.stderr)
        return 2
    district.api = api
    try:
        case, photos = run_loop(district, examples, args, checks)
        applied = district.wait_for(
            lambda: api.district_status(args.district).get("last_contiguous_seq") == district.seq,
            args.timeout,
        )
        checks.check(
            applied,
            f"the city applied the stream 1..{district.seq} of {args.district}",
            f"status {api.district_status(args.district)}",
        )
        repaired = run_negative_files(district, examples, args, checks)
        run_table_checks(district, examples, args, checks)
        day = reconcile(district, case, args, checks)
        verify_city(district, api, case, photos, day, repaired, args, checks)
        district.pump(1.0)
        for kind, (seen, bad) in sorted(district.commands_checked.items()):
            checks.check(
                bad == 0,
                f"{seen} {kind} message(s) from the city conform to json/v1/{kind}.json "
                "and AMQP.md's properties",
                f"{bad} did not",
            )
        checks.check(
            not district.rejections,
            "no rejection of a message the standard accepts",
            json.dumps(district.rejections, ensure_ascii=False)[:1000],
        )
    except Failed as error:
        if not getattr(error, "reported", False):
            checks.check(False, "the run went on to the end", str(error))
    except (pika.exceptions.AMQPError, OSError) as error:
        checks.check(False, "the connection to the broker and the city API", repr(error))
    finally:
        district.close()
    return checks.summary()


# ---------------------------------------------------------------------------------------
# inspect: what a district publishes, checked against the standard
# ---------------------------------------------------------------------------------------

UUID_RE = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
ID_FORMATS = {
    "media_chunk": re.compile(r"^(?P<code>\d{6})-(?P<seq>\d+)-chunk-(?P<index>\d+)$"),
    "sync_batch": re.compile(rf"^(?P<code>\d{{6}})-sync-(?P<request>{UUID_RE})-(?P<n>\d+)$"),
}
OUTBOX_ID = re.compile(r"^(?P<code>\d{6})-(?P<seq>\d+)$")


def inspect_message(state, validators, code, method, properties, raw, refused):
    """Violations of one message published by district `code` (a list of strings). A message
    the city refused is checked but does not move the stream (its seq stays free)."""
    problems = []
    key = re.match(rf"^district\.{code}\.([a-z_]+)$", method.routing_key)
    key_kind = key.group(1) if key else None
    if key_kind not in DISTRICT_KINDS:
        problems.append(f"routing key {method.routing_key}: not district.{code}.<district kind>")
    if properties.delivery_mode != 2:
        problems.append(f"delivery_mode {properties.delivery_mode}, not 2")
    if properties.content_type != "application/json":
        state["notes"].append(f"content_type {properties.content_type!r} (informative)")
    if properties.type != key_kind:
        problems.append(f"type property {properties.type!r} is not the routing key's kind")
    if not properties.user_id:
        problems.append("no user_id property")
    elif state["user"] and properties.user_id != state["user"]:
        problems.append(f"user_id {properties.user_id!r}, expected {state['user']!r}")
    if len(raw) > MAX_MESSAGE_BYTES:
        problems.append(f"{len(raw)} bytes, more than 512 KiB")
    try:
        message = json.loads(raw)
    except ValueError:
        return problems + ["not JSON"]
    if not isinstance(message, dict):
        return problems + ["not a JSON object"]
    kind, seq = message.get("kind"), message.get("seq")
    if kind != key_kind:
        problems.append(f"kind {kind!r} is not the routing key's kind")
    if message.get("district") != code:
        problems.append(f"district {message.get('district')!r}")
    problems += [f"{p or '(root)'}: {m}" for p, m in schema_errors(validators, message)]
    if not isinstance(seq, int) or seq < 1:
        return problems + [f"seq {seq!r} is not a positive integer"]
    message_id = properties.message_id
    pattern = ID_FORMATS.get(kind, OUTBOX_ID)
    match = pattern.match(message_id or "")
    body = message.get("body") if isinstance(message.get("body"), dict) else {}
    if not match:
        problems.append(f"message_id {message_id!r} is not of the form {pattern.pattern}")
    elif match.group("code") != code:
        problems.append(f"message_id {message_id!r} names another district")
    elif kind == "media_chunk":
        if int(match.group("seq")) != seq or int(match.group("index")) != body.get("index"):
            problems.append(f"message_id {message_id!r} does not match seq {seq} and the index")
    elif kind == "sync_batch":
        if match.group("request") != body.get("request_id"):
            problems.append(f"message_id {message_id!r} does not name the batch's request_id")
    elif int(match.group("seq")) != seq:
        problems.append(f"message_id {message_id!r} does not match seq {seq}")
    if refused:
        return problems
    if kind == "media_chunk":
        problems += inspect_chunk(state, body, seq)
    elif kind == "sync_batch":
        problems += inspect_batch(state, validators, code, body)
    else:
        problems += inspect_stream(state, message_id, message, raw)
    return problems


def inspect_chunk(state, body, seq):
    """A chunk comes before its manifest, under its seq, or again after a media_request."""
    problems = []
    try:
        data = base64.b64decode(body.get("data", ""), validate=True)
    except ValueError:
        return ["chunk data is not standard base64"]
    state["chunks"].setdefault(body.get("sha256"), {})[body.get("index")] = data
    last = state["last_seq"]
    if last is not None and seq != last + 1 and seq not in state["manifests"].values():
        problems.append(f"chunk seq {seq}: neither the next seq ({last + 1}) nor a manifest's")
    return problems


def inspect_batch(state, validators, code, body):
    """A sync batch holds stream messages, unchanged from when they were first sent."""
    problems = []
    for inner in body.get("messages", []):
        if not isinstance(inner, dict):
            problems.append("a sync_batch message is not an object")
            continue
        seq = inner.get("seq")
        if inner.get("kind") in NOT_STREAM_KINDS:
            problems.append(f"a sync_batch carries a {inner.get('kind')}")
        if inner.get("district") != code:
            problems.append(f"replayed seq {seq} of district {inner.get('district')!r}")
        problems += [
            f"replayed seq {seq}: {p or '(root)'}: {m}" for p, m in schema_errors(validators, inner)
        ]
        original = state["seen"].get(f"{code}-{seq}")
        if original is not None and json.loads(original) != inner:
            problems.append(f"replayed seq {seq} differs from the message first sent")
        state["replayed"].add(seq)
    return problems


def inspect_stream(state, message_id, message, raw):
    """Stream messages: gap-free, increasing; a redelivery byte for byte the same."""
    problems = []
    seq, body = message["seq"], message.get("body") or {}
    if message_id in state["seen"]:
        if state["seen"][message_id] != raw:
            problems.append(f"{message_id} again with other content")
        else:
            state["notes"].append(f"{message_id} delivered again, unchanged")
        return problems
    state["seen"][message_id] = raw
    last = state["last_seq"]
    if last is not None and seq != last + 1:
        missing = f"{last + 1}..{seq - 1}" if seq > last + 1 else None
        problems.append(
            f"seq {seq} after {last}: not gap-free and increasing"
            + (f" (seq {missing} never published here)" if missing else "")
        )
    state["last_seq"] = seq if last is None else max(last, seq)
    if message["kind"] == "media_manifest":
        digest = body.get("sha256")
        state["manifests"][digest] = seq
        chunks = state["chunks"].get(digest)
        if not chunks:
            problems.append(f"manifest {str(digest)[:12]} without its chunks before it")
        elif len(chunks) != body.get("chunks"):
            problems.append(
                f"{len(chunks)} chunk(s) before the manifest, which says {body.get('chunks')}"
            )
        else:
            data = b"".join(chunks[i] for i in sorted(chunks))
            if hashlib.sha256(data).hexdigest() != digest or len(data) != body.get("size_bytes"):
                problems.append(f"the chunks of {str(digest)[:12]} do not add up to the manifest")
    return problems


def refused_copy(refusals, message_id, first_copy):
    """The rejection (if any) that refused this copy of `message_id`. A `conflict` refuses a
    later copy; any other code refuses the copy it names before the district sent it again
    under the same seq (a refused seq stays free)."""
    pending = refusals.get(message_id) or []
    order = ["other"] if first_copy else ["conflict", "other"]
    for want in order:
        for i, rejection in enumerate(pending):
            if (rejection.get("code") == "conflict") == (want == "conflict"):
                return pending.pop(i)
    return None


def run_inspect(args):
    validators = load_schemas(args.schemas)
    code = args.district
    connection = pika.BlockingConnection(pika.URLParameters(args.amqp))
    channel = connection.channel()
    queue = args.queue
    try:
        queue = channel.queue_declare(queue, exclusive=True, auto_delete=True).method.queue
    except pika.exceptions.ChannelClosedByBroker as error:
        if queue or error.reply_code != 403:
            raise
        # The city's permissions (AMQP.md) let it configure only `citygrid.`, `city.` and
        # `district.` names: a server-named `amq.gen-…` queue is refused.
        queue = f"city.inspect-{uuid.uuid4().hex[:12]}"
        channel = connection.channel()
        channel.queue_declare(queue, exclusive=True, auto_delete=True)
        print(f"INFO a server-named queue was refused (403); listening on {queue}", flush=True)
    channel.queue_bind(queue, DISTRICTS_EXCHANGE, routing_key=f"district.{code}.*")
    # The city's rejections to the district, so a seq sent again after a refusal is told
    # apart from a conflict (a user that may not read citygrid.city goes without).
    try:
        channel.queue_bind(queue, "citygrid.city", routing_key=f"city.{code}.rejection")
        hearing_rejections = True
    except pika.exceptions.ChannelClosedByBroker as error:
        print(
            f"INFO no rejections: binding to citygrid.city refused ({error.reply_text})", flush=True
        )
        channel = connection.channel()
        hearing_rejections = False
    received = []
    channel.basic_consume(
        queue, lambda ch, method, props, body: received.append((method, props, body)), auto_ack=True
    )
    print(
        f"INFO listening to district.{code}.* on {DISTRICTS_EXCHANGE} for {args.seconds}s",
        flush=True,
    )
    deadline = time.monotonic() + args.seconds
    while time.monotonic() < deadline:
        connection.process_data_events(time_limit=min(1.0, max(0.0, deadline - time.monotonic())))
    connection.close()

    refusals, mismatches = {}, []
    for method, _, raw in received:
        if method.exchange == DISTRICTS_EXCHANGE:
            continue
        try:
            rejection = json.loads(raw)["body"]
        except (ValueError, KeyError, TypeError):
            continue
        if rejection.get("code") == "media_mismatch":
            mismatches.append(rejection)  # names a manifest the city keeps
        else:
            refusals.setdefault(rejection.get("message_id"), []).append(rejection)
    state = {
        "user": args.user,
        "last_seq": None,
        "seen": {},
        "chunks": {},
        "manifests": {},
        "replayed": set(),
        "notes": [],
    }
    kinds, violations, count = {}, 0, 0
    for method, properties, raw in received:
        if method.exchange != DISTRICTS_EXCHANGE:
            continue
        count += 1
        message_id = properties.message_id
        is_chunk = (properties.type or "") == "media_chunk"
        first_copy = message_id not in state["seen"] or is_chunk
        rejection = refused_copy(refusals, message_id, first_copy)
        problems = inspect_message(
            state, validators, code, method, properties, raw, rejection is not None
        )
        kind = properties.type or "?"
        kinds[kind] = kinds.get(kind, 0) + 1
        name = f"{method.routing_key} {message_id}"
        refusal = (
            f" [refused by the city: {rejection.get('code')}"
            + (f" at {rejection['field']}" if rejection.get("field") else "")
            + "]"
            if rejection
            else ""
        )
        if problems or rejection:
            violations += 1
            print(
                f"FAIL {name}: " + ("; ".join(problems[:8]) or "conforms to json/v1") + refusal,
                flush=True,
            )
        elif args.verbose:
            print(f"PASS {name}", flush=True)
    for rejection in mismatches:
        print(
            f"INFO media_mismatch for {rejection.get('message_id')}: {rejection.get('message')}",
            flush=True,
        )
    unmatched = [r for pending in refusals.values() for r in pending]
    for rejection in unmatched:
        print(f"INFO a rejection this run did not see the message of: {rejection}", flush=True)
    for note in state["notes"]:
        print(f"INFO {note}", flush=True)
    summary = ", ".join(f"{n} {k}" for k, n in sorted(kinds.items())) or "nothing"
    print(
        f"inspect: {count} message(s) from district {code} ({summary}); {violations} with "
        f"violations or refused"
        + ("" if hearing_rejections else " (the city's rejections not heard)"),
        flush=True,
    )
    if count < args.min_messages:
        print(f"FAIL fewer than {args.min_messages} message(s) seen", flush=True)
        return 1
    return 1 if violations else 0


# ---------------------------------------------------------------------------------------


def main(argv=None):
    here = Path(__file__).resolve().parent
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)

    district = commands.add_parser("district", help="act as a district against a city exchange")
    district.add_argument(
        "--amqp",
        required=True,
        help="amqp://user:password@host:5672/vhost of the district's broker user",
    )
    district.add_argument("--district", required=True, help="the district's 6-digit code")
    district.add_argument("--user", help="its broker user (default: the URL's user)")
    district.add_argument("--city-api", required=True, help="base URL of the city API")
    district.add_argument("--city-user", required=True)
    district.add_argument("--city-password", required=True)
    district.add_argument("--examples", default=str(here.parent / "examples"))
    district.add_argument("--schemas", default=str(here.parent / "json" / "v1"))
    district.add_argument(
        "--time-zone",
        default="Asia/Shanghai",
        help="the district's time zone (the city's registry)",
    )
    district.add_argument("--street-code", help="9-digit street code (default: <district>001)")
    district.add_argument(
        "--category-code",
        help="kind/major/minor in the district's catalogue (default: the example's)",
    )
    district.add_argument(
        "--category-name",
        default="暴露垃圾",
        help="the category's name in the catalogue (default: the example's, event 01/02)",
    )
    district.add_argument("--department", help="department code (default: the example's)")
    district.add_argument("--timeout", type=float, default=30.0, help="seconds per wait")
    district.add_argument(
        "--repair-timeout",
        type=float,
        default=120.0,
        help="seconds to wait for the city's sync and media requests (its gap_seconds and more)",
    )
    district.add_argument(
        "--no-repairs", action="store_true", help="no withheld message and no corrupted chunk"
    )

    inspect = commands.add_parser("inspect", help="check what a district publishes")
    inspect.add_argument(
        "--amqp",
        required=True,
        help="amqp://… of a user that may read citygrid.districts (the city's)",
    )
    inspect.add_argument("--district", required=True)
    inspect.add_argument("--seconds", type=float, required=True)
    inspect.add_argument("--schemas", default=str(here.parent / "json" / "v1"))
    inspect.add_argument("--user", help="the district's broker user, to check user_id against")
    inspect.add_argument(
        "--queue", default="", help="queue name (default: server-named, else city.inspect-<random>)"
    )
    inspect.add_argument("--min-messages", type=int, default=1)
    inspect.add_argument("--verbose", action="store_true", help="a line per conforming message too")

    args = parser.parse_args(argv)
    if not re.fullmatch(r"\d{6}", args.district):
        parser.error("--district is a 6-digit code")
    if args.command == "district":
        return run_district(args)
    return run_inspect(args)


if __name__ == "__main__":
    sys.exit(main())
