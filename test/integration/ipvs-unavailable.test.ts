// The IPVS service where the kernel has no IPVS (an ipvsadm that answers as Debian's does
// on such a kernel, first on PATH): reported once, as an event with what to do, then
// quietly retried, backing off; the relay's rules make it a critical alert; the module
// loaded, the table is programmed.
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { AlertRules } from '../../services/relay/alerts.js';
import { readEvents } from '../harness/log.js';
import { CLI } from '../harness/node.js';
import { startChild, waitFor } from '../harness/process.js';
import { teardown } from '../harness/teardown.js';

const td = teardown();

it('a kernel without IPVS is reported once (event, alert, what to do), not a line a second; found when it comes', async () => {
  const d = td.tempDir('ipvs-missing');
  const bin = join(d.path, 'bin');
  mkdirSync(bin);
  const calls = join(d.path, 'calls');
  writeFileSync(join(bin, 'ipvsadm'), `#!/bin/sh
echo "$*" >> ${calls}
echo "modprobe: FATAL: Module ip_vs not found in directory /lib/modules/$(uname -r)" >&2
echo "Can't initialize ipvs: Protocol not available" >&2
echo "Are you sure that IP Virtual Server is built in the kernel or as module?" >&2
exit 2
`);
  chmodSync(join(bin, 'ipvsadm'), 0o755);
  const file = join(d.path, 'vigil.yaml');
  writeFileSync(file, `cluster: t
nodes: { n1: {} }
log: { path: events.db }
zookeeper: { hosts: [127.0.0.1:2181] }
virtual_servers:
  web:
    ip: 10.0.0.31
    port: 80
    real_servers:
      - { ip: 10.0.0.11, port: 80 }
`);
  const logFile = join(d.path, 'ipvs.log');
  const child = startChild([process.execPath, CLI, 'run', 'ipvs', '--config', file, '--node', 'n1'], { logFile, env: { ...process.env, PATH: `${bin}:${process.env.PATH}` } });
  td.push(() => child.stop());
  await new Promise((r) => setTimeout(r, 6000)); // several retries
  const events = readEvents(join(d.path, 'events.db'), ['ipvs.availability']);
  expect(events).toHaveLength(1);
  // retried after 1, 2, 4 s...: not a process a second
  expect(readFileSync(calls, 'utf8').trim().split('\n').length).toBeLessThanOrEqual(4);
  expect(events[0]!.data).toMatchObject({ available: false, error: expect.stringMatching(/Protocol not available/), hint: expect.stringMatching(/load the ip_vs module/) });
  const lines = readFileSync(logFile, 'utf8').trim().split('\n');
  // the first failure, and the first of the once-a-minute reminders; not one per retry
  expect(lines.filter((l) => /"level":"(warn|error)"/.test(l)).length, lines.join('\n')).toBeLessThanOrEqual(2);
  const alerts = new AlertRules({ node: 'n1', vipUnownedMs: 3000, leaseDeniedMs: 3000, groupAddresses: new Map() }).apply(events[0]!);
  expect(alerts.map((a) => `${a.severity}/${a.kind}`)).toEqual(['critical/ipvs_unavailable']);
  expect(alerts[0]!.summary).toMatch(/cannot read or change the kernel's IPVS table: .*Protocol not available.*; this kernel has no IPVS: load the ip_vs module/);

  // The module loaded (an ipvsadm that works now, with an empty table): the retries (after
  // 1, 2, 4 s... up to 30 s) find it and the service programs its virtual server.
  writeFileSync(join(bin, 'ipvsadm'), `#!/bin/sh
[ "$1" = -R ] && cat > ${join(d.path, 'restored')}
exit 0
`);
  await waitFor('the IPVS table to be available again', () => readEvents(join(d.path, 'events.db'), ['ipvs.availability']).find((e) => (e.data as { available: boolean }).available), 20_000);
  expect(readFileSync(join(d.path, 'restored'), 'utf8')).toMatch(/^-A -t 10\.0\.0\.31:80 /m);
}, 45_000);
