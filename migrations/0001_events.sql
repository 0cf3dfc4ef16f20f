-- The append-only event log. seq is assigned by the appender as last seq + 1 inside an
-- IMMEDIATE transaction; the triggers below make the database itself refuse gaps,
-- time going backwards, updates and deletes, whatever client writes to the file.
--
-- Indexes are few on purpose: every index is written on every append. id is
-- "<node>:<log_id>:<seq>" (unique because seq is), and ts never decreases along seq, so a
-- time range is found by bisecting the primary key; neither needs an index. A type filter
-- scans backwards from the newest event (types are few and frequent; an index on type
-- cost 20% of the append rate and the planner used it for worse plans).
CREATE TABLE events (
  seq         INTEGER PRIMARY KEY,
  id          TEXT    NOT NULL,
  ts          INTEGER NOT NULL,
  node        TEXT    NOT NULL,
  source      TEXT    NOT NULL,
  type        TEXT    NOT NULL,
  subject     TEXT    NOT NULL,
  data        TEXT    NOT NULL CHECK (json_valid(data)),
  causation   INTEGER,
  correlation TEXT,
  hash        TEXT    NOT NULL CHECK (length(hash) = 64)
);

CREATE INDEX events_subject ON events (subject, seq);
CREATE INDEX events_correlation ON events (correlation) WHERE correlation IS NOT NULL;

CREATE TRIGGER events_no_update BEFORE UPDATE ON events
BEGIN
  SELECT RAISE(ABORT, 'events is append-only: UPDATE refused');
END;

CREATE TRIGGER events_no_delete BEFORE DELETE ON events
BEGIN
  SELECT RAISE(ABORT, 'events is append-only: DELETE refused');
END;

CREATE TRIGGER events_gap_free BEFORE INSERT ON events
WHEN NEW.seq IS NOT (SELECT IFNULL(MAX(seq), 0) + 1 FROM events)
  OR NEW.ts < IFNULL((SELECT ts FROM events WHERE seq = NEW.seq - 1), 0)
BEGIN
  SELECT RAISE(ABORT, 'events.seq must be the last seq + 1 and ts must not go back in time');
END;

-- Where each consumer has got to (mutable by design: it is a cursor, not history).
CREATE TABLE cursors (
  consumer TEXT    PRIMARY KEY,
  seq      INTEGER NOT NULL CHECK (seq >= 0),
  ts       INTEGER NOT NULL
);

-- Facts about this log file: log_id (random, part of every event id), node, created_ts.
CREATE TABLE meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
