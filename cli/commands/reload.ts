// vigil reload: every running service of this node re-reads the configuration (SIGHUP to
// each, as systemctl reload and docker kill -s HUP do) and applies it as a difference;
// then what each did, from the records they make.
import { readFileSync } from 'node:fs';
import { logPathForNode } from '../../shared/config/index.js';
import { DEFAULT_CONFIG } from '../../shared/config/node.js';
import { EventLog, isEvent, serviceSubject, summarize, type StoredEvent } from '../../shared/eventlog/index.js';
import { SERVICE_NAMES, serviceView, type ServiceName } from '../../shared/service.js';
import { commonOptions, parseVerb, loadNodeConfig, secondsOption, type Io } from '../common.js';
import { reloadUsage } from '../usage.js';


const options = { ...commonOptions, timeout: { type: 'string', default: '15' } } as const;

/** Whether pid is a vigil service of that name (a PID from a heartbeat may have been reused). */
function isService(pid: number, service: ServiceName): boolean {
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    const run = argv.indexOf('run');
    return run >= 0 && argv[run + 1] === service;
  } catch {
    return false;
  }
}

export async function reloadCommand(argv: string[], io: Io): Promise<number> {
  const values = parseVerb(argv, options, reloadUsage, io);
  if (!values) return 0;
  const timeoutMs = secondsOption('timeout', values.timeout);
  const { config, node, file } = loadNodeConfig(values, '');
  const log = EventLog.open({ path: values.db ?? logPathForNode(config, node, file), node, readOnly: true });
  try {
    const now = Date.now();
    const after = log.lastSeq();
    const asked: { service: ServiceName; pid: number }[] = [];
    for (const service of SERVICE_NAMES) {
      const v = serviceView(service, log.heartbeat(service), now, 2000);
      if (v.state !== 'alive' || v.pid === null || !isService(v.pid, service)) continue;
      process.kill(v.pid, 'SIGHUP');
      asked.push({ service, pid: v.pid });
    }
    if (asked.length === 0) {
      io.err(`vigil: no service of ${node} is running (see vigil status)\n`);
      return 2;
    }
    const answers = new Map<ServiceName, StoredEvent>();
    const deadline = Date.now() + timeoutMs;
    while (answers.size < asked.length && Date.now() < deadline) {
      for (const { service, pid } of asked) {
        if (answers.has(service)) continue;
        const e = log.query({ types: ['service.reloaded', 'service.reload_refused'], subject: serviceSubject(service), afterSeq: after }).find((x) => (x.data as { pid: number }).pid === pid);
        if (e) answers.set(service, e);
      }
      if (answers.size < asked.length) await new Promise((r) => setTimeout(r, 100));
    }
    let ok = true;
    const rows = asked.map(({ service, pid }) => {
      const e = answers.get(service);
      if (!e || !isEvent(e, 'service.reloaded')) ok = false;
      return { service, pid, result: !e ? 'no answer' : isEvent(e, 'service.reloaded') ? 'reloaded' : 'refused', event: e ?? null };
    });
    if (values.json) io.out(JSON.stringify({ node, ok, services: rows.map((r) => ({ service: r.service, pid: r.pid, result: r.result, data: r.event?.data ?? null })) }) + '\n');
    else for (const r of rows) io.out(`${r.service.padEnd(7)} ${r.result === 'no answer' ? `no answer within ${timeoutMs / 1000} s (pid ${r.pid})` : summarize(r.event!)}\n`);
    return ok ? 0 : 1;
  } finally {
    log.close();
  }
}
