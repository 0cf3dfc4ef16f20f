-- Heartbeats moved to a file of their own beside the log (<log>-pulse/pulse.sqlite, with the
-- services' in-memory counters; see shared/eventlog/pulse.ts): written ten times a second
-- per service, in the log's file they woke every reader of the log at each write.
DROP TABLE heartbeats;
