-- What each running service counts in memory (adverts sent, packets dropped, append
-- latency), as a JSON snapshot it overwrites about once a second; the relay serves them on
-- the node's /metrics. Mutable by design, like heartbeats: a pulse, not history.
CREATE TABLE service_metrics (
  service TEXT    PRIMARY KEY,
  ts      INTEGER NOT NULL,
  data    TEXT    NOT NULL
);
