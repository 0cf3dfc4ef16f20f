// The services' heartbeats, in a flat file beside the pulse board (<log>-pulse/heartbeats):
// one 16-byte slot per service (SERVICE_NAMES order): the beat's time (unix ms, float64),
// the pid (int32) and a mark that the slot was written (uint32), little-endian. A beat is
// one pwrite and a read one pread, by any process of the node, with no lock: each slot has
// one writer (its service, or its native beater, native/pulse_beat.c, which writes the same
// layout), a slot never crosses a page, and a reader takes only a marked slot with a
// finite time.
import { closeSync, constants, existsSync, mkdirSync, openSync, readSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { SERVICE_NAMES } from '../service-names.js';

export const SLOT_BYTES = 16;
/** The mark of a written record ("VIG1"): a reader takes nothing without it (also the lifetime files, pulse.ts). */
export const WRITTEN = 0x31474956;

export const heartbeatsPath = (logPath: string) => join(`${logPath}-pulse`, 'heartbeats');

/** The byte offset of a service's slot. */
export function slotOffset(service: string): number {
  const i = (SERVICE_NAMES as readonly string[]).indexOf(service);
  if (i < 0) throw new Error(`no heartbeat slot for ${service}: not a service of a node`);
  return i * SLOT_BYTES;
}

export function encodeSlot(pid: number, ts: number): Buffer {
  const b = Buffer.alloc(SLOT_BYTES);
  b.writeDoubleLE(ts, 0);
  b.writeInt32LE(pid, 8);
  b.writeUInt32LE(WRITTEN, 12);
  return b;
}

export class HeartbeatFile {
  private fd: number | undefined;

  constructor(private readonly path: string, private readonly readOnly: boolean) {}

  /** The open file; undefined for a reader while none exists. */
  private open(): number | undefined {
    if (this.fd !== undefined) return this.fd;
    if (this.readOnly) {
      if (!existsSync(this.path)) return undefined;
      this.fd = openSync(this.path, 'r');
    } else {
      mkdirSync(dirname(this.path), { recursive: true });
      this.fd = openSync(this.path, constants.O_RDWR | constants.O_CREAT, 0o644);
    }
    return this.fd;
  }

  write(service: string, pid: number, ts: number): void {
    writeSync(this.open()!, encodeSlot(pid, ts), 0, SLOT_BYTES, slotOffset(service));
  }

  read(service: string): { pid: number; ts: number } | undefined {
    const fd = this.open();
    if (fd === undefined) return undefined;
    const b = Buffer.alloc(SLOT_BYTES);
    if (readSync(fd, b, 0, SLOT_BYTES, slotOffset(service)) < SLOT_BYTES || b.readUInt32LE(12) !== WRITTEN) return undefined;
    const ts = b.readDoubleLE(0);
    return Number.isFinite(ts) ? { pid: b.readInt32LE(8), ts } : undefined;
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}
