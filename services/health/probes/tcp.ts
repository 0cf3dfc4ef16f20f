// TCP_CHECK: a connection that completes is up. It is closed with a reset, as HAProxy
// does, so a check leaves no TIME_WAIT behind on either side.
import net from 'node:net';
import type { Endpoint } from '../plan.js';
import { describeError, endpoint, type Abort, type ProbeDone } from './types.js';

export function tcpProbe(p: Endpoint, done: ProbeDone): Abort {
  const where = endpoint(p.host, p.port);
  const s = net.connect({ host: p.host, port: p.port, localAddress: p.bindto, localPort: p.bindPort });
  s.once('connect', () => {
    s.resetAndDestroy();
    done({ ok: true, reason: `TCP connect to ${where} succeeded` });
  });
  s.once('error', (err) => done({ ok: false, reason: `TCP connect to ${where} failed: ${describeError(err)}` }));
  return () => s.destroy();
}
