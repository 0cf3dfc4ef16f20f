// What the health service checks on one node, from the configuration: every checker of
// every real server (each node checks all virtual servers, as keepalived does) and the
// track scripts this node's VRRP instances use. Effective values are resolved here,
// once: ports and addresses inherited from the real and virtual server, delay_loop,
// alpha, timeouts.
import { instancesForNode, startsDown, type CheckConfig, type VigilConfig } from '../../shared/config/index.js';
import { trackSubject } from '../../shared/eventlog/subjects.js';
import { TRACK_CHECK, trackCheckKey } from '../../shared/health-record.js';
import { realServerChecks } from '../../shared/quorum.js';
import type { CheckRules, Health } from './decider.js';

export interface UrlSpec {
  path: string;
  /** Inclusive ranges: 200 is [200, 200]. */
  statusCodes: [number, number][];
  digest: string | undefined;
  regex: RegExp | undefined;
  regexNoMatch: boolean;
}

export interface Endpoint {
  host: string;
  port: number;
  bindto: string | undefined;
  bindPort: number | undefined;
}

export type ProbeSpec =
  | ({ kind: 'tcp' } & Endpoint)
  | ({
      kind: 'http';
      tls: { verify: boolean; caFile: string | undefined; sni: string | undefined } | undefined;
      virtualhost: string | undefined;
      version: '1.0' | '1.1';
      urls: UrlSpec[];
    } & Endpoint)
  | ({ kind: 'dns'; type: string; name: string; expect: string[] | undefined } & Endpoint)
  | { kind: 'exec'; argv: string[]; user: string | undefined; dynamic: boolean; what: string }
  | { kind: 'ping'; host: string; bindto: string | undefined };

export interface CheckSpec {
  /** Unique among the checks of a node: subject and check together. */
  key: string;
  /** rs:<virtual server>/<ip>:<port>, or track:<script>: the subject of its events. */
  subject: string;
  /** The real server (ip:port) or the track script's name. */
  target: string;
  /** Which checker of the target: "HTTP_GET#0"; "script" for track scripts. */
  check: string;
  role: 'real_server' | 'track_script';
  probe: ProbeSpec;
  timeoutMs: number;
  rules: CheckRules;
  initial: Health;
  /** The first probe starts at a random moment within this (warmup, or the interval: jitter). */
  firstWithinMs: number;
  /** Where it is in the configuration, for error messages. */
  path: (string | number)[];
}

const ms = (s: number) => Math.round(s * 1000);

/** status_code (200, "200-299", or a list of them) as inclusive ranges. */
export const statusRanges = (v: number | string | (number | string)[]): [number, number][] =>
  (Array.isArray(v) ? v : [v]).map((x) => (typeof x === 'number' ? [x, x] : (x.split('-').map(Number) as [number, number])));


function probeOf(ch: CheckConfig, ep: Endpoint, virtualhost: string | undefined): ProbeSpec {
  switch (ch.type) {
    case 'TCP_CHECK':
      return { kind: 'tcp', ...ep };
    case 'HTTP_GET':
    case 'SSL_GET':
      return {
        kind: 'http',
        ...ep,
        tls: ch.type === 'SSL_GET' ? { verify: ch.verify, caFile: ch.ca_file, sni: ch.sni } : undefined,
        virtualhost: ch.virtualhost ?? virtualhost,
        version: ch.http_protocol,
        urls: ch.url.map((u) => ({
          path: u.path,
          statusCodes: statusRanges(u.status_code),
          digest: u.digest?.toLowerCase(),
          regex: u.regex === undefined ? undefined : new RegExp(u.regex),
          regexNoMatch: u.regex_no_match,
        })),
      };
    case 'DNS_CHECK':
      return { kind: 'dns', ...ep, type: ch.dns_type, name: ch.dns_name, expect: ch.expect };
    case 'MISC_CHECK':
      return { kind: 'exec', argv: ch.misc_path, user: ch.user, dynamic: ch.misc_dynamic, what: `MISC_CHECK ${ch.misc_path[0]}` };
    case 'PING_CHECK':
      return { kind: 'ping', host: ep.host, bindto: ep.bindto };
  }
}

function timeoutOf(ch: CheckConfig, delayLoopS: number): number {
  if (ch.type === 'MISC_CHECK') return ms(ch.misc_timeout ?? delayLoopS);
  if (ch.type === 'HTTP_GET' || ch.type === 'SSL_GET') return ms(ch.connect_timeout) * ch.url.length;
  return ms(ch.connect_timeout);
}

export function planChecks(config: VigilConfig, node: string): CheckSpec[] {
  const out: CheckSpec[] = [];
  for (const { vsName, vs, rs, rsIndex, check: ch, checkIndex, target, subject, name: check, key } of realServerChecks(config)) {
    const delayLoop = ch.delay_loop ?? vs.delay_loop;
    const port = ch.connect_port ?? (ch.type === 'DNS_CHECK' ? 53 : rs.port ?? vs.port ?? 0);
    const ep: Endpoint = { host: ch.connect_ip ?? rs.ip, port, bindto: ch.bindto, bindPort: ch.bind_port };
    out.push({
      key,
      subject,
      target,
      check,
      role: 'real_server',
      probe: probeOf(ch, ep, vs.virtualhost),
      timeoutMs: timeoutOf(ch, delayLoop),
      rules: { rise: ch.rise, fall: ch.fall, retries: ch.retry, retryDelayMs: ms(ch.delay_before_retry), intervalMs: ms(delayLoop) },
      initial: startsDown(vs, ch) ? 'down' : 'up',
      firstWithinMs: ms(ch.warmup ?? delayLoop),
      path: ['virtual_servers', vsName, 'real_servers', rsIndex, 'checks', checkIndex],
    });
  }
  const used = new Set(instancesForNode(config, node).flatMap((vi) => vi.track_script.map((t) => (typeof t === 'string' ? t : t.name))));
  for (const name of [...used].sort()) {
    const ts = config.track_scripts[name];
    if (!ts) continue; // the configuration check reports it
    const subject = trackSubject(name);
    out.push({
      key: trackCheckKey(subject),
      subject,
      target: name,
      check: TRACK_CHECK,
      role: 'track_script',
      probe: { kind: 'exec', argv: ts.script, user: ts.user, dynamic: false, what: `track script ${name}` },
      timeoutMs: ms(ts.timeout ?? ts.interval),
      rules: { rise: ts.rise, fall: ts.fall, retries: 0, retryDelayMs: 0, intervalMs: ms(ts.interval) },
      initial: ts.init_fail ? 'down' : 'up',
      firstWithinMs: 0, // keepalived runs track scripts at once: VRRP waits on them
      path: ['track_scripts', name],
    });
  }
  return out;
}
