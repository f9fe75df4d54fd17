"""The zones the edge boxes report: their display names, and whether they are still reported.

Learnt from the input's series as they are read (never typed in), kept in memory: after a restart
the first complete read fills it again. A zone missing from an edge box's answer is "no longer
reported" (a zone renamed or removed in the edge config) until the lead removes it; a zone whose
edge box could not be read keeps what was last known about it.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, replace

from api.domain import Snapshot, Unknown, ZoneKey


@dataclass(frozen=True, slots=True)
class ZoneEntry:
    key: ZoneKey
    name: str  # the edge config's display name (the id where none is set)
    reported: bool  # in the latest answer of the zone's edge box
    last_reported_at: float  # the read that last had it


class UnknownZone(Exception):
    """A zone no edge box reports; the message names it and the nearest one reported."""


class ZoneDirectory:
    def __init__(self) -> None:
        self._entries: dict[ZoneKey, ZoneEntry] = {}
        self._complete = False

    @property
    def complete(self) -> bool:
        """Every source has answered at least once: a zone none of them reports does not exist."""
        return self._complete

    def observe(self, snapshot: Snapshot) -> None:
        self._complete = self._complete or snapshot.complete
        for key, name in snapshot.reported.items():
            self._entries[key] = ZoneEntry(key, name, True, snapshot.taken_at)
        for key, entry in list(self._entries.items()):
            if key in snapshot.reported or not entry.reported:
                continue
            why = snapshot.cameras_down.get((key.site, key.camera))
            if why is None or why.kind is not Unknown.INPUT_FAILED:  # its edge answered without it
                self._entries[key] = replace(entry, reported=False)

    def entry(self, key: ZoneKey) -> ZoneEntry | None:
        return self._entries.get(key)

    def name(self, key: ZoneKey) -> str:
        entry = self._entries.get(key)
        return key.zone if entry is None else entry.name

    def forget(self, key: ZoneKey) -> None:
        self._entries.pop(key, None)

    def check_exists(self, key: ZoneKey) -> None:
        """Raises UnknownZone for a zone that no edge box reports, once every source has answered
        (before that, a zone not seen yet may still come)."""
        if key in self._entries or not self._complete:
            return
        reported = [str(k) for k, e in self._entries.items() if e.reported]
        close = difflib.get_close_matches(str(key), reported, n=1, cutoff=0.6)
        if close:
            hint = f"did you mean {close[0]}?"
        elif reported:
            hint = f"the edge reports {len(reported)} zones; GET /api/v1/zones lists them"
        else:
            hint = "the edge reports no zones"
        raise UnknownZone(f"no edge box reports zone {key}: {hint}")
