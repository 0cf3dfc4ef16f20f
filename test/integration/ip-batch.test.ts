// The long-running `ip -batch` the fence renews lifetimes through: ip keeps a little memory
// per command, so it is replaced after a budget of lines, without losing a line, reporting
// the retired process's end as a death, or letting flush() return before it is done.
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ipBatchProcess } from '../../shared/iproute.js';
import { waitFor } from '../harness/process.js';

describe('ip -batch process', () => {
  it('is replaced after its budget of lines, silently, and flush waits for the retired one', async () => {
    const errors: string[] = [];
    const ip = ipBatchProcess((m) => errors.push(m), { linesPerProcess: 4 });
    const pids = new Set<number>();
    try {
      for (let i = 0; i < 12; i++) {
        ip.run(['route show table 250']); // read-only, prints nothing
        pids.add(ip.pid!);
        await ip.flush();
      }
      expect(pids.size).toBe(3);
      const current = ip.pid!;
      for (const pid of pids) if (pid !== current) expect(existsSync(`/proc/${pid}`), `retired ip ${pid} still running`).toBe(false);
      expect(errors).toEqual([]);
      ip.run(['link set dev vgnosuchdev0 up']); // fails: still reported, from the current process
      await waitFor('the failure to be reported', () => (errors.length > 0 ? true : undefined), 5000, 10);
      expect(errors.join('\n')).toMatch(/vgnosuchdev0|Cannot find device/);
    } finally {
      ip.close();
    }
  });
});
