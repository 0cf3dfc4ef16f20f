-- When the kernel will drop each VIP group's addresses on this node if nobody renews them
-- (the address lifetime): the fence overwrites a group's row at every renewal. Mutable by
-- design, like heartbeats: a fence restarted after a crash reads here when its last tenure
-- really ended, and records that end in the events.
CREATE TABLE vip_lifetimes (
  grp         TEXT    PRIMARY KEY,
  epoch       INTEGER NOT NULL,
  valid_until INTEGER NOT NULL
);
