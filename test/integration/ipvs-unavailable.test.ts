// The IPVS service where the kernel has no IPVS (an ipvsadm that answers as Debian's does
// on such a kernel, first on PATH): reported once, as an event with what to do, then
// quietly retried; the relay's rules make it a critical alert.
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { AlertRules } from '../../services/relay/alerts.js';
import { readEvents } from '../harness/log.js';
import { CLI } from '../harness/node.js';
import { startChild } from '../harness/process.js';
import { teardown } from '../harness/teardown.js';

const td = teardown();

it('a kernel without IPVS is reported once (event, alert, what to do), not a line a second', async () => {
  const d = td.tempDir('ipvs-missing');
  const bin = join(d.path, 'bin');
  mkdirSync(bin);
  writeFileSync(join(bin, 'ipvsadm'), `#!/bin/sh
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
  expect(events[0]!.data).toMatchObject({ available: false, error: expect.stringMatching(/Protocol not available/), hint: expect.stringMatching(/load the ip_vs module/) });
  const lines = readFileSync(logFile, 'utf8').trim().split('\n');
  // the first failure, and the first of the once-a-minute reminders; not one per retry
  expect(lines.filter((l) => /"level":"(warn|error)"/.test(l)).length, lines.join('\n')).toBeLessThanOrEqual(2);
  const alerts = new AlertRules({ node: 'n1', vipUnownedMs: 3000, leaseDeniedMs: 3000, groupAddresses: new Map() }).apply(events[0]!);
  expect(alerts.map((a) => `${a.severity}/${a.kind}`)).toEqual(['critical/ipvs_unavailable']);
  expect(alerts[0]!.summary).toMatch(/cannot read or change the kernel's IPVS table: .*Protocol not available.*; this kernel has no IPVS: load the ip_vs module/);
}, 30_000);
