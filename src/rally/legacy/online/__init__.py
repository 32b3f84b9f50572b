"""`rally db upgrade --online`: the league-isolation upgrade while the old application serves.

Expand / backfill / contract, each step its own short transaction (or a CONCURRENTLY
statement) under a lock budget of at most 1 s per try, retried with jitter:

- expand: nullable columns, the (name, league_id) unique index, translation triggers;
- backfill: snapshot of analysis.py's league decisions, the series split (one short
  transaction), then re-pointing and league fills in throttled, resumable batches;
- contract: NOT NULL via validated CHECKs, unique indexes built CONCURRENTLY and attached
  with USING INDEX, foreign keys and checks NOT VALID then VALIDATE, head indexes, new
  tables (revision 0002's schema);
- revisions 0003-0007 the same way (`head.py`: columns without rewrite, tables, functions and
  triggers, batched backfills, CONCURRENTLY indexes, NOT VALID then VALIDATE);
- the window: stamp head (a brief transaction; revisions after `head.ONLINE_BUILT`, if any,
  run there). The old application's writes keep being translated by the triggers.
- finalize (once the old application is gone): drop the triggers, series_leagues and the
  legacy constraints; series.league_id NOT NULL. The schema is then exactly the offline one.
- abort (while the window is open): back to the legacy shape in one transaction.

Progress lives in the table ``rally_online`` (one row per step: done, cursor), so a killed
run resumes where it stopped.
"""

from rally.legacy.online.run import (
    OnlineOptions,
    abort,
    finalize,
    online_plan,
    render_online_plan,
    upgrade_online,
)

__all__ = [
    "OnlineOptions",
    "abort",
    "finalize",
    "online_plan",
    "render_online_plan",
    "upgrade_online",
]
