-- The subject index, kept in bulk instead of on every append.
--
-- An index on events (subject, seq) is written on every append: a transaction of 100
-- events about 10 subjects rewrote about 23 index pages (one per subject, plus splits)
-- for 5 pages of events, and that was a third of the append cost. subject_index holds
-- the same (subject, seq) pairs, but the appenders add them many at a time: when more
-- than a few thousand events are not indexed yet, the append that notices indexes all of
-- them, sorted by subject, inside its own transaction (each index page is then written
-- once for many entries). Queries read the index (up to subject_index_state.upto) and
-- scan the few events after it.
DROP INDEX events_subject;

CREATE TABLE subject_index (
  subject TEXT    NOT NULL,
  seq     INTEGER NOT NULL,
  PRIMARY KEY (subject, seq)
) WITHOUT ROWID;

-- One row: every event with seq <= upto is in subject_index, and no other.
CREATE TABLE subject_index_state (
  one  INTEGER PRIMARY KEY CHECK (one = 1),
  upto INTEGER NOT NULL CHECK (upto >= 0)
);

INSERT INTO subject_index (subject, seq) SELECT subject, seq FROM events ORDER BY subject, seq;
INSERT INTO subject_index_state (one, upto) VALUES (1, (SELECT IFNULL(MAX(seq), 0) FROM events));

-- Like the events it indexes, the index only grows.
CREATE TRIGGER subject_index_no_update BEFORE UPDATE ON subject_index
BEGIN
  SELECT RAISE(ABORT, 'subject_index is append-only: UPDATE refused');
END;

CREATE TRIGGER subject_index_no_delete BEFORE DELETE ON subject_index
BEGIN
  SELECT RAISE(ABORT, 'subject_index is append-only: DELETE refused');
END;

CREATE TRIGGER subject_index_state_forward BEFORE UPDATE ON subject_index_state
WHEN NEW.one IS NOT 1 OR NEW.upto < OLD.upto
BEGIN
  SELECT RAISE(ABORT, 'subject_index_state.upto only moves forward');
END;

CREATE TRIGGER subject_index_state_no_delete BEFORE DELETE ON subject_index_state
BEGIN
  SELECT RAISE(ABORT, 'subject_index_state is kept: DELETE refused');
END;
