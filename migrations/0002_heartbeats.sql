-- Liveness of the node's services: each running service overwrites its row every few
-- hundred milliseconds. Mutable by design (a pulse, not history); what happened is in
-- events (service.started / service.stopped).
CREATE TABLE heartbeats (
  service TEXT    PRIMARY KEY,
  pid     INTEGER NOT NULL,
  ts      INTEGER NOT NULL
);
