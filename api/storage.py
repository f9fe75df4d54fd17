"""SQLite: rules, alert events, notifications, the webhook outbox, where the API scrapes the
edge itself readings per zone and minute, page sessions (hashes) and the counters open per zone
with their history. Counts, times and ids only.

Created and migrated on open (PRAGMA user_version counts the migrations applied). One connection,
used from the event loop's thread only; every write is one short transaction.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from api.counters import CounterSchedule, CounterSetting
from api.domain import Role, ZoneKey
from api.engine import Alert, EndReason
from api.readings import MinuteRow
from api.rules import Rule, RuleSpec

MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE rules (
        site TEXT NOT NULL, camera TEXT NOT NULL, zone TEXT NOT NULL,
        spec TEXT NOT NULL,              -- RuleSpec as JSON: levels, durations, opening hours
        updated_at REAL NOT NULL,
        PRIMARY KEY (site, camera, zone)
    );
    CREATE TABLE alerts (
        id INTEGER PRIMARY KEY,
        site TEXT NOT NULL, camera TEXT NOT NULL, zone TEXT NOT NULL,
        raise_level INTEGER NOT NULL,
        started_at REAL NOT NULL,
        fired_at REAL NOT NULL,
        peak_occupancy REAL NOT NULL,
        acknowledged_at REAL,
        acknowledged_by TEXT CHECK (acknowledged_by IN ('desk', 'lead')),
        ended_at REAL,
        end_reason TEXT
    );
    CREATE INDEX alerts_by_zone ON alerts (site, camera, zone, id);
    CREATE TABLE notifications (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        created_at REAL NOT NULL,
        type TEXT NOT NULL,
        body TEXT NOT NULL               -- the exact JSON sent: signed as is, on every attempt
    );
    CREATE TABLE outbox (
        webhook TEXT NOT NULL,
        notification_id INTEGER NOT NULL REFERENCES notifications (id),
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at REAL NOT NULL,
        delivered_at REAL,
        last_error TEXT,
        PRIMARY KEY (webhook, notification_id)
    );
    CREATE INDEX outbox_pending ON outbox (webhook, notification_id) WHERE delivered_at IS NULL;
    """,
    """
    CREATE TABLE readings (              -- per zone and minute, where the API scrapes the edge itself
        site TEXT NOT NULL, camera TEXT NOT NULL, zone TEXT NOT NULL,
        minute INTEGER NOT NULL,         -- Unix time of the minute's start
        occupancy_sum REAL NOT NULL,     -- over the reads with a count: / samples is the mean
        samples INTEGER NOT NULL,
        occupancy_peak REAL,
        entries REAL NOT NULL,
        exits REAL NOT NULL,
        at_raise INTEGER,                -- reads at or above the raise level; NULL without a rule
        PRIMARY KEY (site, camera, zone, minute)
    );
    CREATE INDEX readings_by_minute ON readings (minute);
    """,
    """
    CREATE TABLE sessions (              -- page logins; hashes only, so a copy of the file logs nobody in
        id_hash TEXT PRIMARY KEY,        -- SHA-256 (hex) of the session id in the browser's cookie
        token_hash TEXT NOT NULL,        -- SHA-256 (hex) of the token it logged in with
        role TEXT NOT NULL CHECK (role IN ('desk', 'lead')),
        created_at REAL NOT NULL,        -- the login: renewals keep it, so the lifetime is absolute
        last_used_at REAL NOT NULL,
        replaced_at REAL                 -- renewed: the id still serves requests already on their way
    );
    CREATE INDEX sessions_by_token ON sessions (token_hash, last_used_at);
    """,
    """
    CREATE TABLE counters (              -- counters open per zone: every change, kept as its history
        id INTEGER PRIMARY KEY,
        site TEXT NOT NULL, camera TEXT NOT NULL, zone TEXT NOT NULL,
        at REAL NOT NULL,
        set_by TEXT NOT NULL CHECK (set_by IN ('desk', 'lead')),
        counters INTEGER,                -- a number set now (desk or lead) ...
        schedule TEXT,                   -- ... or the lead's weekly schedule as JSON
        CHECK ((counters IS NULL) != (schedule IS NULL))
    );
    CREATE INDEX counters_by_zone ON counters (site, camera, zone, at);
    """,
    """
    -- the minute's first read with a count: the queue it began with; NULL in minutes stored before
    ALTER TABLE readings ADD COLUMN occupancy_first REAL;
    """,
)


class StorageError(Exception):
    pass


@dataclass(frozen=True, slots=True)
class StepCounts:
    """One zone's stored minutes in one step of a report. occupancy_sum / samples: the mean over
    the reads with a count; minutes_at_raise: None when no minute had both a rule and a count."""

    key: ZoneKey
    step: int
    occupancy_sum: float
    samples: int
    occupancy_peak: float | None
    entries: float
    exits: float
    minutes_at_raise: float | None


@dataclass(frozen=True, slots=True)
class StepAlerts:
    key: ZoneKey
    step: int
    fired: int
    acknowledged: int


@dataclass(frozen=True, slots=True)
class SessionRow:
    token_hash: str
    role: Role
    created_at: float
    last_used_at: float
    replaced_at: float | None


@dataclass(frozen=True, slots=True)
class OutboxItem:
    webhook: str
    notification_id: int
    body: str
    type: str
    attempts: int
    next_attempt_at: float


def _rule_from_row(row: sqlite3.Row) -> Rule:
    return Rule(
        key=ZoneKey(row["site"], row["camera"], row["zone"]),
        spec=RuleSpec.model_validate_json(row["spec"]),
        updated_at=row["updated_at"],
    )


def _counts(r: MinuteRow) -> tuple[int, float, int, float | None, float | None, float, float, int | None]:
    return (
        r.minute,
        r.occupancy_sum,
        r.samples,
        r.occupancy_peak,
        r.occupancy_first,
        r.entries,
        r.exits,
        r.at_raise,
    )


def _alert_from_row(row: sqlite3.Row) -> Alert:
    return Alert(
        id=row["id"],
        key=ZoneKey(row["site"], row["camera"], row["zone"]),
        raise_level=row["raise_level"],
        started_at=row["started_at"],
        fired_at=row["fired_at"],
        peak_occupancy=row["peak_occupancy"],
        acknowledged_at=row["acknowledged_at"],
        acknowledged_by=Role(row["acknowledged_by"]) if row["acknowledged_by"] else None,
        ended_at=row["ended_at"],
        end_reason=EndReason(row["end_reason"]) if row["end_reason"] else None,
    )


class Storage:
    def __init__(self, connection: sqlite3.Connection) -> None:
        self._db = connection

    @classmethod
    def open(cls, path: Path) -> Storage:
        """Open (creating the file and its folder if needed) and migrate to the latest schema."""
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            db.row_factory = sqlite3.Row
            db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA synchronous = NORMAL")
            db.execute("PRAGMA foreign_keys = ON")
            storage = cls(db)
            storage._migrate()
        except (sqlite3.Error, OSError) as error:
            raise StorageError(f"database {path}: {error}") from None
        return storage

    def close(self) -> None:
        self._db.close()

    def _migrate(self) -> None:
        version = int(self._db.execute("PRAGMA user_version").fetchone()[0])
        if version > len(MIGRATIONS):
            raise StorageError(
                f"schema version {version} is newer than this program knows ({len(MIGRATIONS)})"
            )
        for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
            # executescript commits first; the migration and its version bump are one transaction.
            self._db.executescript(f"BEGIN;\n{script}\nPRAGMA user_version = {number};\nCOMMIT;")

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All writes inside land together or not at all."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    @property
    def schema_version(self) -> int:
        return int(self._db.execute("PRAGMA user_version").fetchone()[0])

    # -- rules: this table is their one home; the engine and the routes ask it ----------------

    def rules(self) -> list[Rule]:
        """Every rule, ordered by zone."""
        rows = self._db.execute("SELECT * FROM rules ORDER BY site, camera, zone").fetchall()
        return [_rule_from_row(r) for r in rows]

    def rule(self, key: ZoneKey) -> Rule | None:
        row = self._db.execute(
            "SELECT * FROM rules WHERE site = ? AND camera = ? AND zone = ?", key
        ).fetchone()
        return None if row is None else _rule_from_row(row)

    def rule_specs(self) -> dict[ZoneKey, RuleSpec]:
        """What each zone's rule says, without when it was set: the alert engine's rule book."""
        return {rule.key: rule.spec for rule in self.rules()}

    def save_rule(self, key: ZoneKey, spec: RuleSpec, at: float) -> Rule:
        self._db.execute(
            "INSERT INTO rules (site, camera, zone, spec, updated_at) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (site, camera, zone) DO UPDATE SET spec = excluded.spec, "
            "updated_at = excluded.updated_at",
            (*key, spec.model_dump_json(), at),
        )
        return Rule(key, spec, at)

    def delete_rule(self, key: ZoneKey) -> bool:
        cursor = self._db.execute("DELETE FROM rules WHERE site = ? AND camera = ? AND zone = ?", key)
        return cursor.rowcount > 0

    # -- alerts ------------------------------------------------------------------------------

    def save_alerts(self, alerts: Iterable[Alert]) -> None:
        rows = [
            (
                a.id,
                *a.key,
                a.raise_level,
                a.started_at,
                a.fired_at,
                a.peak_occupancy,
                a.acknowledged_at,
                a.acknowledged_by.value if a.acknowledged_by else None,
                a.ended_at,
                a.end_reason.value if a.end_reason else None,
            )
            for a in alerts
        ]
        if rows:
            self._db.executemany(
                "INSERT OR REPLACE INTO alerts (id, site, camera, zone, raise_level, started_at, fired_at, "
                "peak_occupancy, acknowledged_at, acknowledged_by, ended_at, end_reason) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )

    def open_alerts(self) -> list[Alert]:
        rows = self._db.execute("SELECT * FROM alerts WHERE ended_at IS NULL ORDER BY id").fetchall()
        return [_alert_from_row(r) for r in rows]

    def last_resolved(self) -> dict[ZoneKey, float]:
        rows = self._db.execute(
            "SELECT site, camera, zone, MAX(ended_at) AS ended FROM alerts "
            "WHERE ended_at IS NOT NULL GROUP BY site, camera, zone"
        ).fetchall()
        return {ZoneKey(r["site"], r["camera"], r["zone"]): r["ended"] for r in rows}

    def next_alert_id(self) -> int:
        return int(self._db.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM alerts").fetchone()[0])

    def alerts(
        self, match: dict[str, str | None] | None = None, limit: int = 100, before_id: int | None = None
    ) -> list[Alert]:
        """Newest first; match: any of site, camera, zone that must be equal."""
        where: list[str] = ["1 = 1"]
        args: list[object] = []
        for column in ("site", "camera", "zone"):
            if match and match.get(column) is not None:
                where.append(f"{column} = ?")
                args.append(match[column])
        if before_id is not None:
            where.append("id < ?")
            args.append(before_id)
        rows = self._db.execute(
            f"SELECT * FROM alerts WHERE {' AND '.join(where)} ORDER BY id DESC LIMIT ?", (*args, limit)
        ).fetchall()
        return [_alert_from_row(r) for r in rows]

    # -- notifications and the outbox ----------------------------------------------------------

    def add_notification(
        self, kind: str, payload: dict[str, object], webhooks: list[str], at: float
    ) -> tuple[int, str]:
        """Store one event with the next id, queued for every webhook; returns (id, JSON body).

        The body carries its own id, so the id is taken before the row is written, and the row is
        written once, complete. Inside a transaction, so nothing can take the same id in between.
        """
        if not self._db.in_transaction:
            raise StorageError("add_notification needs a transaction (Storage.transaction)")
        # AUTOINCREMENT's counter, not MAX(id): an id is never given twice, even after pruning.
        number = int(
            self._db.execute(
                "SELECT MAX(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'notifications'), 0), "
                "COALESCE((SELECT MAX(id) FROM notifications), 0)) + 1"
            ).fetchone()[0]
        )
        body = json.dumps({"id": number, **payload}, separators=(",", ":"))
        self._db.execute(
            "INSERT INTO notifications (id, created_at, type, body) VALUES (?, ?, ?, ?)",
            (number, at, kind, body),
        )
        self._db.executemany(
            "INSERT INTO outbox (webhook, notification_id, next_attempt_at) VALUES (?, ?, ?)",
            [(name, number, at) for name in webhooks],
        )
        return number, body

    def next_undelivered(self, webhook: str) -> OutboxItem | None:
        """The oldest undelivered notification of a webhook: deliveries keep their order."""
        row = self._db.execute(
            "SELECT o.webhook, o.notification_id, n.body, n.type, o.attempts, o.next_attempt_at "
            "FROM outbox o JOIN notifications n ON n.id = o.notification_id "
            "WHERE o.webhook = ? AND o.delivered_at IS NULL ORDER BY o.notification_id LIMIT 1",
            (webhook,),
        ).fetchone()
        return None if row is None else OutboxItem(*row)

    def mark_delivered(self, webhook: str, notification_id: int, at: float) -> None:
        self._db.execute(
            "UPDATE outbox SET delivered_at = ?, attempts = attempts + 1, last_error = NULL "
            "WHERE webhook = ? AND notification_id = ?",
            (at, webhook, notification_id),
        )

    def mark_failed(self, webhook: str, notification_id: int, error: str, retry_at: float) -> None:
        self._db.execute(
            "UPDATE outbox SET attempts = attempts + 1, last_error = ?, next_attempt_at = ? "
            "WHERE webhook = ? AND notification_id = ?",
            (error[:500], retry_at, webhook, notification_id),
        )

    def outbox_pending(self, webhooks: list[str] | None = None) -> int:
        args: tuple[str, ...] = ()
        if webhooks is None:
            query = "SELECT COUNT(*) FROM outbox WHERE delivered_at IS NULL"
        else:
            marks = ",".join("?" * len(webhooks)) or "NULL"
            query = f"SELECT COUNT(*) FROM outbox WHERE delivered_at IS NULL AND webhook IN ({marks})"
            args = tuple(webhooks)
        return int(self._db.execute(query, args).fetchone()[0])

    def notifications(self, after_id: int = 0, limit: int = 100) -> list[str]:
        rows = self._db.execute(
            "SELECT body FROM notifications WHERE id > ? ORDER BY id LIMIT ?", (after_id, limit)
        ).fetchall()
        return [r["body"] for r in rows]

    def prune(self, before: float) -> None:
        """Forget delivered events older than `before`; undelivered ones are kept whatever their age."""
        with self.transaction():
            self._db.execute(
                "DELETE FROM outbox WHERE delivered_at IS NOT NULL AND notification_id IN "
                "(SELECT id FROM notifications WHERE created_at < ?)",
                (before,),
            )
            self._db.execute(
                "DELETE FROM notifications WHERE created_at < ? "
                "AND id NOT IN (SELECT notification_id FROM outbox)",
                (before,),
            )

    # -- readings per zone and minute (where the API scrapes the edge itself) -----------------

    def save_readings(self, rows: Iterable[MinuteRow]) -> None:
        """Add minutes; a minute already stored (the API restarted within it) is added to, not replaced
        (its first read stays the first)."""
        self._db.executemany(
            "INSERT INTO readings (site, camera, zone, minute, occupancy_sum, samples, occupancy_peak, "
            "occupancy_first, entries, exits, at_raise) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (site, camera, zone, minute) DO UPDATE SET "
            "occupancy_sum = occupancy_sum + excluded.occupancy_sum, samples = samples + excluded.samples, "
            "occupancy_peak = CASE WHEN occupancy_peak IS NULL THEN excluded.occupancy_peak "
            "WHEN excluded.occupancy_peak IS NULL THEN occupancy_peak "
            "ELSE MAX(occupancy_peak, excluded.occupancy_peak) END, "
            "occupancy_first = COALESCE(occupancy_first, excluded.occupancy_first), "
            "entries = entries + excluded.entries, exits = exits + excluded.exits, "
            "at_raise = CASE WHEN at_raise IS NULL AND excluded.at_raise IS NULL THEN NULL "
            "ELSE COALESCE(at_raise, 0) + COALESCE(excluded.at_raise, 0) END",
            [(*r.key, *_counts(r)) for r in rows],
        )

    def prune_readings(self, before: float) -> int:
        """Delete the minutes that started before `before`; returns how many."""
        return self._db.execute("DELETE FROM readings WHERE minute < ?", (before,)).rowcount

    def reading_counts(self, site: str, start: float, step_s: float, steps: int) -> list[StepCounts]:
        """Per zone of the site and step (minutes from start, step_s long, `steps` of them) the
        stored minutes added up; steps without a stored minute are left out."""
        rows = self._db.execute(
            "SELECT site, camera, zone, CAST((minute - :start) / :step AS INTEGER) AS step, "
            "SUM(occupancy_sum) AS occupancy_sum, SUM(samples) AS samples, "
            "MAX(occupancy_peak) AS occupancy_peak, SUM(entries) AS entries, SUM(exits) AS exits, "
            "SUM(CASE WHEN samples > 0 THEN at_raise * 1.0 / samples END) AS minutes_at_raise "
            "FROM readings WHERE site = :site AND minute >= :start AND minute < :end "
            "GROUP BY site, camera, zone, step ORDER BY site, camera, zone, step",
            {"site": site, "start": start, "step": step_s, "end": start + step_s * steps},
        ).fetchall()
        return [
            StepCounts(
                ZoneKey(r["site"], r["camera"], r["zone"]),
                r["step"],
                r["occupancy_sum"],
                r["samples"],
                r["occupancy_peak"],
                r["entries"],
                r["exits"],
                r["minutes_at_raise"],
            )
            for r in rows
        ]

    def alert_counts(self, site: str, start: float, step_s: float, steps: int) -> list[StepAlerts]:
        """Per zone of the site and step: the alerts that fired in it, and how many of those were
        acknowledged (whenever that was)."""
        rows = self._db.execute(
            "SELECT site, camera, zone, CAST((fired_at - :start) / :step AS INTEGER) AS step, "
            "COUNT(*) AS fired, COUNT(acknowledged_at) AS acknowledged "
            "FROM alerts WHERE site = :site AND fired_at >= :start AND fired_at < :end "
            "GROUP BY site, camera, zone, step ORDER BY site, camera, zone, step",
            {"site": site, "start": start, "step": step_s, "end": start + step_s * steps},
        ).fetchall()
        return [
            StepAlerts(ZoneKey(r["site"], r["camera"], r["zone"]), r["step"], r["fired"], r["acknowledged"])
            for r in rows
        ]

    def sites(self) -> set[str]:
        """Every site the database knows of: from its rules, alerts and readings."""
        rows = self._db.execute(
            "SELECT site FROM rules UNION SELECT site FROM alerts UNION SELECT site FROM readings"
        ).fetchall()
        return {r["site"] for r in rows}

    def arrivals(self, key: ZoneKey, start: float, end: float, step_s: int) -> list[tuple[float, float]]:
        """(step start, entries) of one zone's stored minutes from start until end, per step_s;
        steps without a stored minute are left out (not known, rather than 0)."""
        rows = self._db.execute(
            "SELECT (minute - minute % :step) AS step, SUM(entries) AS entries FROM readings "
            "WHERE site = :site AND camera = :camera AND zone = :zone AND minute >= :start AND minute < :end "
            "GROUP BY step ORDER BY step",
            {
                "site": key.site,
                "camera": key.camera,
                "zone": key.zone,
                "start": start,
                "end": end,
                "step": step_s,
            },
        ).fetchall()
        return [(float(r["step"]), float(r["entries"])) for r in rows]

    def minutes(self, key: ZoneKey, start: float, end: float) -> list[tuple[int, float | None, float]]:
        """(minute, people waiting as it began or None, exits) of one zone's stored minutes from start
        until end. A minute stored before its first read was kept gives its mean instead."""
        rows = self._db.execute(
            "SELECT minute, COALESCE(occupancy_first, "
            "CASE WHEN samples > 0 THEN occupancy_sum / samples END) AS occupancy, exits "
            "FROM readings WHERE site = ? AND camera = ? AND zone = ? AND minute >= ? AND minute < ? "
            "ORDER BY minute",
            (*key, start, end),
        ).fetchall()
        return [(int(r["minute"]), r["occupancy"], float(r["exits"])) for r in rows]

    # -- counters open per zone: each change kept (api/counters.py says what is open when) ------

    def add_counter_setting(self, key: ZoneKey, setting: CounterSetting) -> None:
        schedule = None if setting.schedule is None else setting.schedule.model_dump_json()
        self._db.execute(
            "INSERT INTO counters (site, camera, zone, at, set_by, counters, schedule) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (*key, setting.at, setting.set_by.value, setting.counters, schedule),
        )

    def counter_settings(
        self, key: ZoneKey, since: float | None = None, limit: int = 1000
    ) -> list[CounterSetting]:
        """A zone's changes, oldest first: those from `since` on, and the last number and the last
        schedule before it (what was in force at `since`); all of them (newest `limit`) without since."""
        where = "site = ? AND camera = ? AND zone = ?"
        if since is None:
            rows = self._db.execute(
                f"SELECT * FROM (SELECT * FROM counters WHERE {where} ORDER BY at DESC, id DESC LIMIT ?) "
                "ORDER BY at, id",
                (*key, limit),
            ).fetchall()
        else:
            rows = self._db.execute(
                f"SELECT * FROM counters WHERE {where} AND (at >= ? OR id IN ("
                f"SELECT MAX(id) FROM counters WHERE {where} AND at < ? AND counters IS NOT NULL UNION "
                f"SELECT MAX(id) FROM counters WHERE {where} AND at < ? AND schedule IS NOT NULL)) "
                "ORDER BY at, id",
                (*key, since, *key, since, *key, since),
            ).fetchall()
        return [
            CounterSetting(
                r["at"],
                Role(r["set_by"]),
                r["counters"],
                None if r["schedule"] is None else CounterSchedule.model_validate_json(r["schedule"]),
            )
            for r in rows
        ]

    def counter_zones(self) -> list[ZoneKey]:
        """Every zone with a counter setting."""
        rows = self._db.execute(
            "SELECT DISTINCT site, camera, zone FROM counters ORDER BY 1, 2, 3"
        ).fetchall()
        return [ZoneKey(r["site"], r["camera"], r["zone"]) for r in rows]

    # -- page sessions, by the hash of their id (api/sessions.py decides what is valid) ---------

    def add_session(self, id_hash: str, token_hash: str, role: Role, created_at: float, at: float) -> None:
        self._db.execute(
            "INSERT INTO sessions (id_hash, token_hash, role, created_at, last_used_at) "
            "VALUES (?, ?, ?, ?, ?)",
            (id_hash, token_hash, role.value, created_at, at),
        )

    def session(self, id_hash: str) -> SessionRow | None:
        row = self._db.execute(
            "SELECT token_hash, role, created_at, last_used_at, replaced_at FROM sessions WHERE id_hash = ?",
            (id_hash,),
        ).fetchone()
        if row is None:
            return None
        return SessionRow(
            row["token_hash"], Role(row["role"]), row["created_at"], row["last_used_at"], row["replaced_at"]
        )

    def touch_session(self, id_hash: str, at: float) -> None:
        self._db.execute("UPDATE sessions SET last_used_at = ? WHERE id_hash = ?", (at, id_hash))

    def replace_session(self, id_hash: str, at: float) -> None:
        self._db.execute("UPDATE sessions SET replaced_at = ? WHERE id_hash = ?", (at, id_hash))

    def delete_session(self, id_hash: str) -> None:
        self._db.execute("DELETE FROM sessions WHERE id_hash = ?", (id_hash,))

    def prune_sessions(self, created_before: float, used_before: float, replaced_before: float) -> int:
        """Delete the sessions logged in, last used or replaced before these times; returns how many."""
        return self._db.execute(
            "DELETE FROM sessions WHERE created_at < ? OR last_used_at < ? OR replaced_at < ?",
            (created_before, used_before, replaced_before),
        ).rowcount

    def keep_sessions_of(self, tokens: Iterable[tuple[str, Role]]) -> int:
        """Delete the sessions of every other (token hash, role); returns how many."""
        kept = [f"{token_hash}:{role.value}" for token_hash, role in tokens]
        marks = ",".join("?" * len(kept)) or "''"  # none kept: every session goes
        return self._db.execute(
            f"DELETE FROM sessions WHERE token_hash || ':' || role NOT IN ({marks})", kept
        ).rowcount

    def trim_sessions(self, token_hash: str, keep: int) -> int:
        """Delete all but the `keep` most recently used sessions of a token; returns how many."""
        return self._db.execute(
            "DELETE FROM sessions WHERE id_hash IN (SELECT id_hash FROM sessions WHERE token_hash = ? "
            "ORDER BY last_used_at DESC LIMIT -1 OFFSET ?)",
            (token_hash, keep),
        ).rowcount
