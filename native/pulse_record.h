/* The mark of a written record ("VIG1", little-endian uint32) in the pulse board's files: the
 * heartbeat slots and the VIP lifetime files (shared/eventlog/heartbeats.ts, WRITTEN). A
 * reader takes nothing without it. */
#ifndef VIGIL_PULSE_RECORD_H
#define VIGIL_PULSE_RECORD_H
#define WRITTEN 0x31474956u
#endif
