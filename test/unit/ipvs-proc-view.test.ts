import { describe, expect, it } from 'vitest';
import { procViewOf, readProcView } from '../../services/ipvs/proc-view.js';

const table = (a: number, b: number, weight = 3) => `IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port Scheduler Flags
  -> RemoteAddress:Port Forward Weight ActiveConn InActConn
TCP  0A00001F:0050 wlc persistent 300 FFFFFFFF
  -> 0A000003:0050      Masq    ${weight}      ${a}          ${b}
  -> 0A000002:0050      Masq    1      0          0
UDP  0A00001F:0035 rr 
  -> 0A000006:0035      Route   1      0          0
`;

describe('/proc/net/ip_vs as a change detector', () => {
  it('is the same while only connections come and go', () => {
    expect(procViewOf(table(0, 0))).toBe(procViewOf(table(12, 340)));
  });

  it('differs when a weight, a server or a service changes', () => {
    const base = procViewOf(table(0, 0));
    expect(procViewOf(table(0, 0, 99))).not.toBe(base);
    expect(procViewOf(table(0, 0).replace('  -> 0A000002:0050      Masq    1      0          0\n', ''))).not.toBe(base);
    expect(procViewOf(table(0, 0).replace('wlc persistent 300', 'wlc'))).not.toBe(base);
    expect(procViewOf(table(0, 0) + 'TCP  0A090909:0016 rr \n')).not.toBe(base);
  });

  it('is undefined without the file (no IPVS in the kernel)', () => {
    expect(readProcView('/proc/net/no_such_ip_vs')).toBeUndefined();
  });
});
