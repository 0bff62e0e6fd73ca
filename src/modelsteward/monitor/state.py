"""The monitor's memory between runs, in a SQL database (SQLite or PostgreSQL).

For each monitored *target* (model name, version, policy name and digest, window spec, time
zone) the store keeps the windows already checked (their results as JSON and the alert
tracker's open episodes after each), the alert episodes, the notifications (each with a
stable id) and their delivery status per sink, a lock row so two runs never work on one
target at once, (schema 2) acknowledgements, silences and the heartbeats of ``--every``
processes, and (schema 3) which per-window figures a sink such as MLflow has already been
given, so they are written once. A ``steward_monitor_schema``
row holds the schema version; older stores are migrated in place, rows kept.

    >>> import tempfile, pathlib
    >>> st = MonitorState.open(f"sqlite:///{pathlib.Path(tempfile.mkdtemp()) / 'm.db'}")
    >>> st.schema_version()
    3
    >>> st.checked("churn|1|default|7D|UTC")
    {}
"""

from __future__ import annotations

import contextlib
import getpass
import hashlib
import json
import os
import socket
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    delete,
    insert,
    inspect,
    select,
    text,
    update,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError

from modelsteward.errors import ConfigError, StewardError
from modelsteward.monitor.alerts import Notification
from modelsteward.monitor.outbox import Outbox
from modelsteward.redact import redact_uri

__all__ = ["DEFAULT_STATE", "SCHEMA_VERSION", "Journal", "MonitorBusyError", "MonitorState",
           "concept_final", "default_state_url", "index_offset", "notification_id",
           "open_state", "target_key"]

#: Where state lives when the data does not come from a prediction-log URL.
DEFAULT_STATE = Path(".steward") / "monitor.db"
#: The schema this code writes; older ones are migrated by :meth:`MonitorState.open`.
SCHEMA_VERSION = 3
#: A lock older than this many seconds (a crashed run) is taken over.
STALE_LOCK_SECONDS = 3600.0


class MonitorBusyError(StewardError):
    """Another monitor run holds the lock of this target."""


def _now() -> str:
    return datetime.now(UTC).isoformat()


def who() -> str:
    """``user@host`` of this process (recorded with acks, silences and locks)."""
    try:
        user = getpass.getuser()
    except Exception:  # no login name (containers): the uid
        user = str(os.getuid()) if hasattr(os, "getuid") else "unknown"
    return f"{user}@{socket.gethostname()}"


#: The thresholds of schema 2's policies: always in the digest. A threshold added later is in
#: it only when set away from its preset (so adding one does not start every target over).
_DIGEST_V2 = frozenset({
    "ks_p_value", "psi_warning", "psi_critical", "null_rate", "variance_ratio",
    "cardinality_ratio", "concept_p_value", "concept_min_drop", "min_window_rows",
    "min_labelled_rows", "psi_noise_factor", "joint_alpha", "classifier_p_value",
    "classifier_min_auc", "label_coverage_final", "label_delay_max", "notify_severity"})
#: Thresholds that change what is re-sent, not what a window's results are.
_SENDING_ONLY = frozenset({"reminder_every"})


def policy_digest(policy: Any) -> str:
    """A short digest of a policy's threshold values (names and sources aside).

    >>> from modelsteward.monitor.policy import load_policy
    >>> policy_digest(load_policy("default")) == policy_digest(load_policy({"reminder_every": 1}))
    True
    """
    values = {k: t.value for k, t in sorted(policy.thresholds.items())
              if k not in _SENDING_ONLY
              and (k in _DIGEST_V2 or not str(t.source).startswith("preset "))}
    return hashlib.sha256(json.dumps(values, sort_keys=True, default=str).encode()).hexdigest()[:8]


def target_key(model: str, version: str, policy: Any, window: str, tz: str) -> str:
    """``model|version|policy:digest|window|tz``: what one series of state is about."""
    return f"{model}|{version}|{policy.name}:{policy_digest(policy)}|{window}|{tz}"


def notification_id(target: str, notification: Any) -> str:
    """The same id for the same news about the same window, on every run and every rerun."""
    parts = sorted(f"{e.event}:{e.alert.key}:{e.alert.severity}" for e in notification.events)
    raw = json.dumps([target, notification.window_label, parts])
    return "n-" + hashlib.sha256(raw.encode()).hexdigest()[:24]


def default_state_url(data: Any) -> str:
    """The log's own database for a log URL, else ``sqlite:///.steward/monitor.db``."""
    if isinstance(data, str) and "://" in data:
        return data
    return f"sqlite:///{DEFAULT_STATE}"


def _tables(version: int) -> MetaData:
    md = MetaData()
    Table("steward_monitor_schema", md, Column("id", Integer, primary_key=True),
          Column("version", Integer, nullable=False), Column("updated_at", String(40)))
    Table("steward_monitor_windows", md,
          Column("target", String(400), primary_key=True),
          Column("label", String(40), primary_key=True),
          Column("idx", Integer, nullable=False),
          Column("start", String(40)), Column("end", String(40)),
          Column("n_rows", Integer, nullable=False), Column("status", String(20)),
          Column("coverage", Float), Column("concept_final", Boolean, nullable=False),
          Column("result", Text, nullable=False), Column("tracker", Text, nullable=False),
          Column("checked_at", String(40), nullable=False))
    episodes: list[Column[Any]] = [Column("id", Integer, primary_key=True, autoincrement=True),
                Column("target", String(400), nullable=False),
                Column("alert_key", String(400), nullable=False),
                Column("feature", String(400)),
                Column("opened_label", String(40), nullable=False),
                Column("severity", String(10), nullable=False),
                Column("status", String(10), nullable=False),
                Column("resolved_label", String(40)),
                Column("last_summary", Text), Column("updated_at", String(40))]
    if version >= 2:
        episodes += [Column("ack_by", String(200)), Column("ack_at", String(40)),
                     Column("ack_reason", Text), Column("ack_severity", String(10))]
    Table("steward_monitor_episodes", md, *episodes)
    Table("steward_monitor_notifications", md,
          Column("id", String(40), primary_key=True),
          Column("target", String(400), nullable=False),
          Column("window_label", String(40), nullable=False),
          Column("body", Text, nullable=False), Column("created_at", String(40), nullable=False))
    Table("steward_monitor_deliveries", md,
          Column("notification_id", String(40), primary_key=True),
          Column("sink_key", String(200), primary_key=True),
          Column("sink_name", String(400), nullable=False),
          Column("status", String(12), nullable=False),  # pending | delivered
          Column("attempts", Integer, nullable=False), Column("last_error", Text),
          Column("queued_at", String(40), nullable=False), Column("delivered_at", String(40)))
    Table("steward_monitor_locks", md,
          Column("target", String(400), primary_key=True),
          Column("owner", String(200), nullable=False),
          Column("acquired_at", Float, nullable=False),
          Column("heartbeat_at", Float, nullable=False))
    if version >= 2:
        Table("steward_monitor_silences", md,
              Column("id", Integer, primary_key=True, autoincrement=True),
              Column("model", String(200), nullable=False),
              Column("feature", String(400), nullable=False),
              Column("until", String(40), nullable=False),
              Column("reason", Text, nullable=False),
              Column("created_by", String(200), nullable=False),
              Column("created_at", String(40), nullable=False))
        Table("steward_monitor_heartbeats", md,
              Column("process", String(200), primary_key=True),
              Column("started_at", String(40), nullable=False),
              Column("beat_at", String(40), nullable=False),
              Column("last_status", String(200)), Column("next_run_at", String(40)))
    if version >= 3:
        Table("steward_monitor_published", md,
              Column("target", String(400), primary_key=True),
              Column("label", String(40), primary_key=True),
              Column("sink_key", String(200), primary_key=True),
              Column("figures", Text, nullable=False),  # name -> value, as last written
              Column("writes", Integer, nullable=False),
              Column("published_at", String(40), nullable=False))
    return md


def create_v1(engine: Engine) -> None:
    """The schema of version 1 (kept so the migration can be tested)."""
    md = _tables(1)
    md.create_all(engine)
    with engine.begin() as conn:
        conn.execute(insert(md.tables["steward_monitor_schema"]),
                     {"id": 1, "version": 1, "updated_at": _now()})


def _migrate_1_to_2(engine: Engine) -> None:
    with engine.begin() as conn:
        for col, kind in (("ack_by", "VARCHAR(200)"), ("ack_at", "VARCHAR(40)"),
                          ("ack_reason", "TEXT"), ("ack_severity", "VARCHAR(10)")):
            conn.execute(text(f"ALTER TABLE steward_monitor_episodes ADD COLUMN {col} {kind}"))
    for name in ("steward_monitor_silences", "steward_monitor_heartbeats"):
        _tables(2).tables[name].create(engine, checkfirst=True)


def _migrate_2_to_3(engine: Engine) -> None:
    _tables(3).tables["steward_monitor_published"].create(engine, checkfirst=True)


@dataclass(frozen=True)
class Episode:
    """One alert episode as the store keeps it."""

    id: int
    target: str
    alert_key: str
    feature: str | None
    opened_label: str
    severity: str
    status: str
    resolved_label: str | None
    last_summary: str | None
    ack_by: str | None = None
    ack_at: str | None = None
    ack_reason: str | None = None
    ack_severity: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _dead_here(owner: str) -> bool:
    """The lock's holder ran on this host and its process is gone (killed, crashed)."""
    parts = owner.rsplit(":", 2)
    if len(parts) != 3 or parts[0] != who() or not parts[1].isdigit():
        return False
    try:
        os.kill(int(parts[1]), 0)
    except ProcessLookupError:
        return True
    except OSError:  # exists, owned by someone else
        return False
    return False


class MonitorState:
    """Tables beside the prediction log (or in their own SQLite file) for the monitor."""

    def __init__(self, engine: Engine, url: str) -> None:
        self.engine, self.url = engine, url
        self.md = _tables(SCHEMA_VERSION)
        self.t = self.md.tables

    @classmethod
    def open(cls, url: str) -> MonitorState:
        """Open (creating or migrating) the state store at ``url``."""
        if url.startswith("sqlite:///") and ":memory:" not in url:
            db = Path(url.removeprefix("sqlite:///").split("?", 1)[0])
            if not db.parent.exists():
                db.parent.mkdir(parents=True, mode=0o700)
            if not db.exists():
                db.touch(mode=0o600)
        try:
            engine = create_engine(url, future=True, **(
                {"connect_args": {"timeout": 30}} if url.startswith("sqlite") else {}))
            state = cls(engine, url)
            state._upgrade()
        except StewardError:
            raise
        except Exception as exc:
            raise ConfigError(f"cannot open the monitor state store {redact_uri(url)} "
                              f"({type(exc).__name__}); pass a writable --state URL") from None
        return state

    def schema_version(self) -> int:
        with self.engine.connect() as conn:
            row = conn.execute(select(self.t["steward_monitor_schema"].c.version)).first()
        return int(row[0]) if row else 0

    def _upgrade(self) -> None:
        for attempt in range(3):  # two processes creating the tables at once: one loses
            try:
                return self._upgrade_once()
            except (OperationalError, ProgrammingError):
                if attempt == 2:
                    raise
                time.sleep(0.2 * (attempt + 1))

    def _upgrade_once(self) -> None:
        names = set(inspect(self.engine).get_table_names())
        if "steward_monitor_schema" not in names:
            self.md.create_all(self.engine)
            with self.engine.begin() as conn:
                with contextlib.suppress(IntegrityError):
                    conn.execute(insert(self.t["steward_monitor_schema"]),
                                 {"id": 1, "version": SCHEMA_VERSION, "updated_at": _now()})
            return
        version = self.schema_version()
        if version > SCHEMA_VERSION:
            raise ConfigError(f"the monitor state store has schema {version}, newer than this "
                              f"modelsteward ({SCHEMA_VERSION}); upgrade modelsteward")
        if version < 2:
            _migrate_1_to_2(self.engine)
        if version < 3:
            _migrate_2_to_3(self.engine)
        if version < SCHEMA_VERSION:
            with self.engine.begin() as conn:
                conn.execute(update(self.t["steward_monitor_schema"])
                             .values(version=SCHEMA_VERSION, updated_at=_now()))

    # --- lock -------------------------------------------------------------------------------
    @contextlib.contextmanager
    def lock(self, target: str, *, stale_after: float = STALE_LOCK_SECONDS) -> Iterator[str]:
        """Hold the target's lock row for the block; another live holder makes this fail at
        once. A holder whose heartbeat is older than ``stale_after`` seconds, or whose process
        on this host is gone, is taken over."""
        locks = self.t["steward_monitor_locks"]
        owner = f"{who()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        for _ in range(2):
            now = time.time()
            try:
                with self.engine.begin() as conn:
                    conn.execute(insert(locks), {"target": target, "owner": owner,
                                                 "acquired_at": now, "heartbeat_at": now})
                break
            except IntegrityError:
                with self.engine.begin() as conn:
                    row = conn.execute(select(locks.c.owner, locks.c.heartbeat_at)
                                       .where(locks.c.target == target)).first()
                    if row is not None and (now - float(row[1]) > stale_after
                                            or _dead_here(str(row[0]))):
                        conn.execute(delete(locks).where(locks.c.target == target,
                                                         locks.c.owner == row[0]))
                        continue
                holder = row[0].rsplit(":", 1)[0] if row is not None else "another run"
                raise MonitorBusyError(
                    f"another monitor run ({holder}) is working on {target}; this run stops "
                    "without checking or sending anything. Wait for it, or if it crashed, "
                    f"the lock is taken over after {stale_after:g}s") from None
        else:  # pragma: no cover - the stale holder came back between delete and insert
            raise MonitorBusyError(f"could not take the lock of {target}; try again")
        try:
            yield owner
        finally:
            with self.engine.begin() as conn:
                conn.execute(delete(locks).where(locks.c.target == target,
                                                 locks.c.owner == owner))

    def heartbeat(self, target: str, owner: str) -> None:
        locks = self.t["steward_monitor_locks"]
        with self.engine.begin() as conn:
            conn.execute(update(locks).where(locks.c.target == target, locks.c.owner == owner)
                         .values(heartbeat_at=time.time()))

    def beat(self, process: str, started_at: str, status: str, next_run_at: str | None) -> None:
        """Record that a long-running monitor (``--every``) is alive and what it did last."""
        h = self.t["steward_monitor_heartbeats"]
        row = {"beat_at": _now(), "last_status": status[:200], "next_run_at": next_run_at}
        with self.engine.begin() as conn:
            done = conn.execute(update(h).where(h.c.process == process).values(**row))
            if not done.rowcount:
                conn.execute(insert(h), {"process": process, "started_at": started_at, **row})

    def heartbeats(self) -> list[dict[str, Any]]:
        h = self.t["steward_monitor_heartbeats"]
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(select(h)).mappings().all()]

    # --- windows ----------------------------------------------------------------------------
    def checked(self, target: str) -> dict[str, dict[str, Any]]:
        """label -> {idx, end, coverage, concept_final, status} of every checked window."""
        w = self.t["steward_monitor_windows"]
        with self.engine.connect() as conn:
            rows = conn.execute(select(w.c.label, w.c.idx, w.c.end, w.c.coverage,
                                       w.c.concept_final, w.c.status)
                                .where(w.c.target == target)).all()
        return {r[0]: {"idx": r[1], "end": r[2], "coverage": r[3], "concept_final": r[4],
                       "status": r[5]} for r in rows}

    def window_results(self, target: str) -> list[dict[str, Any]]:
        """The stored per-window results in window order."""
        w = self.t["steward_monitor_windows"]
        with self.engine.connect() as conn:
            rows = conn.execute(select(w.c.result).where(w.c.target == target)
                                .order_by(w.c.start, w.c.idx)).all()
        return [json.loads(r[0]) for r in rows]

    def tracker_before(self, target: str, start: str | None) -> dict[str, Any]:
        """The tracker's open episodes after the last checked window starting before ``start``."""
        w = self.t["steward_monitor_windows"]
        stmt = select(w.c.tracker).where(w.c.target == target)
        if start is not None:
            stmt = stmt.where(w.c.start < start)
        stmt = stmt.order_by(w.c.start.desc(), w.c.idx.desc()).limit(1)
        with self.engine.connect() as conn:
            row = conn.execute(stmt).first()
        return json.loads(row[0]) if row else {}

    def save_window(self, target: str, result: dict[str, Any], tracker: dict[str, Any],
                    concept_final: bool, events: list[Any]) -> None:
        """Record one checked window, its tracker snapshot and its episode changes."""
        w = self.t["steward_monitor_windows"]
        c = result.get("concept") or {}
        row = {"target": target, "label": result["label"], "idx": int(result["index"]),
               "start": result.get("start"), "end": result.get("end"),
               "n_rows": int(result["n_rows"]), "status": result["status"],
               "coverage": c.get("coverage"), "concept_final": concept_final,
               "result": json.dumps(result, default=str), "tracker": json.dumps(tracker),
               "checked_at": _now()}
        with self.engine.begin() as conn:
            conn.execute(delete(w).where(w.c.target == target, w.c.label == result["label"]))
            conn.execute(insert(w), row)
            for e in events:
                self._episode_event(conn, target, e, result["label"])

    def _episode_event(self, conn: Any, target: str, event: Any, label: str) -> None:
        ep = self.t["steward_monitor_episodes"]
        a = event.alert
        where = (ep.c.target == target, ep.c.alert_key == a.key,
                 ep.c.opened_label == event.opened_window)
        found = conn.execute(select(ep.c.id).where(*where)).first()
        if event.event == "resolved":
            if found is not None:
                conn.execute(update(ep).where(*where).values(
                    status="resolved", resolved_label=label, updated_at=_now()))
            return
        values = {"severity": event.peak_severity, "last_summary": a.summary,
                  "updated_at": _now(), "status": "open"}
        if found is None:
            conn.execute(insert(ep), {"target": target, "alert_key": a.key,
                                      "feature": a.feature, "opened_label": event.opened_window,
                                      **values})
        else:
            conn.execute(update(ep).where(*where).values(**values))

    def stored_windows(self, target: str, *, since: str | None = None,
                       after: str | None = None,
                       before: str | None = None) -> list[tuple[dict[str, Any], bool]]:
        """(result, concept final) of the stored windows starting at or after ``since``,
        after ``after`` and before ``before`` (ISO starts; None: no bound), in window order."""
        w = self.t["steward_monitor_windows"]
        stmt = select(w.c.result, w.c.concept_final).where(w.c.target == target)
        if since is not None:
            stmt = stmt.where(w.c.start >= since)
        if after is not None:
            stmt = stmt.where(w.c.start > after)
        if before is not None:
            stmt = stmt.where(w.c.start < before)
        with self.engine.connect() as conn:
            rows = conn.execute(stmt.order_by(w.c.start, w.c.idx)).all()
        return [(json.loads(r[0]), bool(r[1])) for r in rows]

    def reset_episodes(self, target: str, since: str) -> None:
        """Before episodes are derived again from the window starting at ``since`` on:
        those opened there or later are marked superseded (derived again, they open again,
        their acks kept), those resolved there or later are open again."""
        w, ep = self.t["steward_monitor_windows"], self.t["steward_monitor_episodes"]
        labels = select(w.c.label).where(w.c.target == target, w.c.start >= since)
        with self.engine.begin() as conn:
            conn.execute(update(ep).where(ep.c.target == target, ep.c.opened_label.in_(labels))
                         .values(status="superseded", resolved_label=None, updated_at=_now()))
            conn.execute(update(ep).where(ep.c.target == target, ep.c.status == "resolved",
                                          ep.c.resolved_label.in_(labels))
                         .values(status="open", resolved_label=None, updated_at=_now()))

    # --- episodes, acks, silences -----------------------------------------------------------
    def episodes(self, *, open_only: bool = False, model: str | None = None) -> list[Episode]:
        ep = self.t["steward_monitor_episodes"]
        stmt = select(ep).order_by(ep.c.id)
        if open_only:
            stmt = stmt.where(ep.c.status == "open")
        if model is not None:
            stmt = stmt.where(ep.c.target.like(f"{model}|%"))
        with self.engine.connect() as conn:
            rows = conn.execute(stmt).mappings().all()
        names = Episode.__dataclass_fields__
        return [Episode(**{k: v for k, v in r.items() if k in names and k != "updated_at"})
                for r in rows]

    def ack(self, episode_id: int, reason: str, by: str | None = None) -> Episode:
        ep = self.t["steward_monitor_episodes"]
        with self.engine.begin() as conn:
            row = conn.execute(select(ep.c.severity).where(ep.c.id == episode_id)).first()
            if row is None:
                raise ConfigError(f"no alert episode {episode_id}; see `steward alerts list`")
            conn.execute(update(ep).where(ep.c.id == episode_id).values(
                ack_by=by or who(), ack_at=_now(), ack_reason=reason, ack_severity=row[0]))
        return next(e for e in self.episodes() if e.id == episode_id)

    def acked(self, target: str) -> dict[tuple[str, str], str]:
        """(alert key, opened label) -> severity at ack, for acknowledged open episodes."""
        ep = self.t["steward_monitor_episodes"]
        with self.engine.connect() as conn:
            rows = conn.execute(select(ep.c.alert_key, ep.c.opened_label, ep.c.ack_severity)
                                .where(ep.c.target == target, ep.c.ack_at.is_not(None))).all()
        return {(r[0], r[1]): r[2] for r in rows}

    def silence(self, model: str, feature: str, until: str, reason: str,
                by: str | None = None) -> dict[str, Any]:
        s = self.t["steward_monitor_silences"]
        row = {"model": model, "feature": feature, "until": until, "reason": reason,
               "created_by": by or who(), "created_at": _now()}
        with self.engine.begin() as conn:
            new_id = conn.execute(insert(s), row).inserted_primary_key
        return {"id": int(new_id[0]) if new_id else None, **row}

    def silences(self, model: str | None = None, at: str | None = None) -> list[dict[str, Any]]:
        """Silences of ``model`` (all models: None) still active at ``at`` (all: None)."""
        s = self.t["steward_monitor_silences"]
        stmt = select(s).order_by(s.c.id)
        if model is not None:
            stmt = stmt.where(s.c.model == model)
        if at is not None:
            stmt = stmt.where(s.c.until > at)
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(stmt).mappings().all()]

    # --- notifications and deliveries (the outbox) ------------------------------------------
    def sent_events(self, target: str, label: str) -> set[tuple[str, str, str]]:
        """(event, alert key, severity) of every notification recorded for one window."""
        n = self.t["steward_monitor_notifications"]
        with self.engine.connect() as conn:
            rows = conn.execute(select(n.c.body).where(n.c.target == target,
                                                       n.c.window_label == label)).all()
        return {(str(e["event"]), str(e["alert"]["key"]), str(e["alert"]["severity"]))
                for r in rows for e in json.loads(r[0]).get("events", [])}

    def queue_all(self, target: str, notification: Any,
                  sinks: list[tuple[str, str]]) -> dict[str, str]:
        """Record the notification and a pending delivery per (sink key, sink name), in one
        transaction, before anything is sent; returns each sink's status (see :meth:`queue`).
        With no sinks the notification is still recorded (it was decided and reported)."""
        n, d = self.t["steward_monitor_notifications"], self.t["steward_monitor_deliveries"]
        out: dict[str, str] = {}
        with self.engine.begin() as conn:
            if conn.execute(select(n.c.id).where(n.c.id == notification.id)).first() is None:
                conn.execute(insert(n), {"id": notification.id, "target": target,
                                         "window_label": notification.window_label,
                                         "body": json.dumps(notification.to_dict(), default=str),
                                         "created_at": _now()})
            for sink_key, sink_name in sinks:
                row = conn.execute(select(d.c.status).where(
                    d.c.notification_id == notification.id, d.c.sink_key == sink_key)).first()
                if row is not None:
                    out[sink_key] = str(row[0])
                    continue
                conn.execute(insert(d), {"notification_id": notification.id,
                                         "sink_key": sink_key, "sink_name": sink_name,
                                         "status": "pending", "attempts": 0,
                                         "queued_at": _now()})
                out[sink_key] = "new"
        return out

    def published(self, target: str, label: str,
                  sink_key: str) -> tuple[dict[str, float], int]:
        """(figures, times written) of one window as a sink was last given them
        (``({}, 0)``: never)."""
        p = self.t["steward_monitor_published"]
        with self.engine.connect() as conn:
            row = conn.execute(select(p.c.figures, p.c.writes).where(
                p.c.target == target, p.c.label == label, p.c.sink_key == sink_key)).first()
        return ({}, 0) if row is None else (json.loads(row[0]), int(row[1]))

    def publish(self, target: str, label: str, sink_key: str, figures: dict[str, float],
                writes: int) -> None:
        p = self.t["steward_monitor_published"]
        with self.engine.begin() as conn:
            conn.execute(delete(p).where(p.c.target == target, p.c.label == label,
                                         p.c.sink_key == sink_key))
            conn.execute(insert(p), {"target": target, "label": label, "sink_key": sink_key,
                                     "figures": json.dumps(figures), "writes": writes,
                                     "published_at": _now()})

    def queue(self, target: str, notification: Any, sink_key: str, sink_name: str) -> str:
        """Record the notification and a pending delivery before it is sent.

        Returns ``"new"``, ``"pending"`` (queued by an earlier run, not delivered yet) or
        ``"delivered"`` (this sink already has it: do not send again).
        """
        return self.queue_all(target, notification, [(sink_key, sink_name)])[sink_key]

    def pending(self, sink_key: str) -> list[tuple[dict[str, Any], str]]:
        """(notification dict, queued_at) waiting for ``sink_key``, oldest first."""
        n, d = self.t["steward_monitor_notifications"], self.t["steward_monitor_deliveries"]
        with self.engine.connect() as conn:
            rows = conn.execute(select(n.c.body, d.c.queued_at)
                                .select_from(d.join(n, n.c.id == d.c.notification_id))
                                .where(d.c.sink_key == sink_key, d.c.status == "pending")
                                .order_by(d.c.queued_at, n.c.created_at)).all()
        return [(json.loads(r[0]), str(r[1])) for r in rows]

    def delivered(self, notification_id: str, sink_key: str) -> None:
        d = self.t["steward_monitor_deliveries"]
        with self.engine.begin() as conn:
            conn.execute(update(d).where(d.c.notification_id == notification_id,
                                         d.c.sink_key == sink_key)
                         .values(status="delivered", delivered_at=_now(),
                                 attempts=d.c.attempts + 1))

    def failed(self, notification_id: str, sink_key: str, error: str, attempts: int) -> None:
        d = self.t["steward_monitor_deliveries"]
        with self.engine.begin() as conn:
            conn.execute(update(d).where(d.c.notification_id == notification_id,
                                         d.c.sink_key == sink_key)
                         .values(last_error=error[:2000], attempts=d.c.attempts + attempts))

    def deliveries(self) -> list[dict[str, Any]]:
        d = self.t["steward_monitor_deliveries"]
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(select(d)).mappings().all()]

    def import_outbox(self, path: Path, target_of: dict[str, str] | None = None) -> int:
        """Move the entries of an issue-9 JSON Lines outbox into the store; returns how many."""
        box = Outbox(path)
        moved = 0
        for e in box.load():
            try:
                note = Notification.from_dict(e["notification"])
            except (KeyError, TypeError, ValueError):
                continue
            nid = str(e["notification"].get("id") or e["id"])
            note = note.with_id(nid)
            target = (target_of or {}).get(note.model_name, f"{note.model_name}|imported")
            self.queue(target, note, e["sink"], str(e.get("sink_name", e["sink"])))
            moved += 1
        path.unlink(missing_ok=True)
        return moved


@dataclass(frozen=True)
class Journal:
    """The state store's outbox for one target, as the sink Dispatcher uses it."""

    state: MonitorState
    target: str

    def queue(self, notification: Any, sink_key: str, sink_name: str) -> str:
        return self.state.queue(self.target, notification, sink_key, sink_name)

    def queue_all(self, notification: Any, sinks: list[tuple[str, str]]) -> dict[str, str]:
        return self.state.queue_all(self.target, notification, sinks)

    def published(self, label: str, sink_key: str) -> tuple[dict[str, float], int]:
        return self.state.published(self.target, label, sink_key)

    def publish(self, label: str, sink_key: str, figures: dict[str, float], writes: int) -> None:
        self.state.publish(self.target, label, sink_key, figures, writes)

    def pending(self, sink_key: str) -> list[tuple[dict[str, Any], str]]:
        return self.state.pending(sink_key)

    def delivered(self, notification_id: str, sink_key: str) -> None:
        self.state.delivered(notification_id, sink_key)

    def failed(self, notification_id: str, sink_key: str, error: str, attempts: int) -> None:
        self.state.failed(notification_id, sink_key, error, attempts)


def open_state(state: Any) -> MonitorState | None:
    """A :class:`MonitorState` from one or its URL (None stays None)."""
    if state is None or isinstance(state, MonitorState):
        return state
    return MonitorState.open(str(state))


def state_url(state: Any) -> str:
    """The URL of a :class:`MonitorState` or the URL itself."""
    return state.url if isinstance(state, MonitorState) else str(state)


def index_offset(windows: list[tuple[str, int, Any]], checked: dict[str, dict[str, Any]]) -> int:
    """What to add to this run's window indices (``(label, index, start)`` each) so they are
    the indices of the stored windows (a run over ``--since``... numbers its windows from 0).

    >>> index_offset([("2026-W05", 0, None)], {"2026-W05": {"idx": 3, "end": None}})
    3
    >>> index_offset([("2026-W07", 0, "2026-02-09T00:00:00+00:00")],
    ...              {"2026-W06": {"idx": 4, "end": "2026-02-09T00:00:00+00:00"}})
    5
    """
    for label, idx, _ in windows:
        if label in checked:
            return int(checked[label]["idx"]) - idx
    if not windows or not checked:
        return 0
    last = max(checked.values(), key=lambda r: int(r["idx"]))
    start = windows[0][2]
    if start is not None and last.get("end") is not None and str(last["end"]) <= str(start):
        return int(last["idx"]) + 1 - windows[0][1]
    return 0


def concept_final(coverage: float | None, end: Any, policy: Any, now: Any) -> bool:
    """No more late labels to wait for: no concept result, coverage reached the policy's
    ``label_coverage_final``, or ``label_delay_max`` days passed since the window ``end``.

    >>> import pandas as pd
    >>> from modelsteward.monitor.policy import load_policy
    >>> end = pd.Timestamp("2026-03-02", tz="UTC")
    >>> concept_final(0.5, end, load_policy("default"), end + pd.Timedelta(days=7))
    False
    >>> concept_final(0.5, end, load_policy("default"), end + pd.Timedelta(days=56))
    True
    """
    if coverage is None or coverage >= float(policy.value("label_coverage_final")):
        return True
    if end is None or now is None:
        return True
    return bool(end + timedelta(days=int(policy.value("label_delay_max"))) <= now)


def window_row(state: MonitorState, target: str,
               label: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(result, tracker snapshot) stored for one window."""
    w = state.t["steward_monitor_windows"]
    with state.engine.connect() as conn:
        row = conn.execute(select(w.c.result, w.c.tracker)
                           .where(w.c.target == target, w.c.label == label)).first()
    if row is None:
        raise KeyError(label)
    return json.loads(row[0]), json.loads(row[1])


def resume_point(url: str, target: str) -> tuple[str, int, str] | None:
    """(start, index, label) of the window an incremental run can start reading from: the
    last checked one, or the first whose late labels are still awaited. None when there is
    nothing to resume (no store, no tables, no windows). Never creates anything."""
    if url.startswith("sqlite:///"):
        db = url.removeprefix("sqlite:///").split("?", 1)[0]
        if db == ":memory:" or not Path(db).is_file():
            return None
    try:
        engine = create_engine(url)
        try:
            if "steward_monitor_windows" not in set(inspect(engine).get_table_names()):
                return None
            w = _tables(SCHEMA_VERSION).tables["steward_monitor_windows"]
            with engine.connect() as conn:
                last = conn.execute(select(w.c.start, w.c.idx, w.c.label)
                                    .where(w.c.target == target)
                                    .order_by(w.c.start.desc()).limit(1)).first()
                open_ = conn.execute(select(w.c.start, w.c.idx, w.c.label)
                                     .where(w.c.target == target, w.c.concept_final.is_(False))
                                     .order_by(w.c.start).limit(1)).first()
        finally:
            engine.dispose()
    except Exception:  # the read that follows reports a broken store or log in one line
        return None
    row = open_ or last
    if row is None or row[0] is None:
        return None
    return str(row[0]), int(row[1]), str(row[2])
