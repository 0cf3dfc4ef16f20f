// vigil import keepalived over a corpus of keepalived.conf files (test/fixtures/keepalived):
// what people really write, faults included. Each imports into a configuration that
// `vigil config check` accepts, and every line of every input is translated or warned.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { vigil, ROOT } from '../harness/node.js';
import { tempDir, type TempDir } from '../harness/tmp.js';

const F = join(ROOT, 'test/fixtures/keepalived');
let tmp: TempDir;
beforeEach(() => (tmp = tempDir('import')));
afterEach(() => tmp.remove());

interface ImportJson {
  ok: boolean;
  nodes: string[];
  warnings: { file: string; line: number; keyword: string; message: string }[];
  conflicts: { file: string; line: number; keyword: string; message: string }[];
}

async function importSet(files: string[], extra: string[] = []): Promise<{ code: number | null; json: ImportJson; config: Record<string, any>; out: string }> {
  const out = join(tmp.path, 'vigil.yaml');
  const r = await vigil(['import', 'keepalived', ...files.map((f) => join(F, f)), '-o', out, '--json', '--zookeeper', 'zk1:2181', ...extra]);
  const json = JSON.parse(r.stdout) as ImportJson;
  let config: Record<string, any> = {};
  try {
    config = parseYaml(readFileSync(out, 'utf8')) as Record<string, any>;
  } catch {
    // not written: the test says why
  }
  return { code: r.code, json, config, out };
}

const CORPUS: [string, string[]][] = [
  ['a master/backup pair', ['pair/lb1.conf', 'pair/lb2.conf']],
  ['three nodes with unicast peers and a sync group', ['three/node-a.conf', 'three/node-b.conf', 'three/node-c.conf']],
  ['LVS-DR and LVS-NAT with every checker', ['lvs/director.conf']],
  ['includes', ['include/keepalived.conf']],
  ['typical faults', ['faults/keepalived.conf']],
];

describe('vigil import keepalived', () => {
  for (const [what, files] of CORPUS) {
    it(`${what}: imports, passes vigil config check, every input line translated or warned`, async () => {
      const r = await importSet(files);
      expect(r.json.conflicts).toEqual([]);
      expect(r.json.ok).toBe(true);
      expect(r.code).toBe(r.json.warnings.length > 0 ? 1 : 0);
      // the importer knew every line of the corpus (an unknown line is warned as "not translated")
      expect(r.json.warnings.filter((w) => /not translated|not a keyword vigil's importer knows/.test(w.message))).toEqual([]);
      const check = await vigil(['config', 'check', r.out]);
      expect(check.code, check.stderr).toBe(0);
    });
  }

  it('what differs per node goes under nodes:, what is the same is written once; comments name the source lines', async () => {
    const pair = await importSet(['pair/lb1.conf', 'pair/lb2.conf'], ['--cluster', 'prod']);
    const vi = pair.config.vrrp_instances.VI_1;
    expect(vi).toMatchObject({ interface: 'eth0', virtual_router_id: 51, advert_int: 1, authentication: { auth_type: 'PASS', auth_pass: 's3cret' }, track_interface: [{ name: 'eth1', weight: -30 }], notify_master: ['/usr/local/bin/notify-pager', 'master'] });
    expect(vi.nodes).toEqual({ lb1: { state: 'MASTER', priority: 150 }, lb2: { state: 'BACKUP', priority: 100 } });
    expect(pair.config.track_scripts.chk_haproxy).toEqual({ script: ['/usr/bin/pgrep', '-x', 'haproxy'], interval: 2, weight: -20, fall: 2, rise: 2 });
    expect(pair.config.vip_groups.VI_1).toEqual({ instance: 'VI_1', addresses: ['10.0.0.31/24 label eth0:web', '10.0.0.32/24'] });
    expect(readFileSync(pair.out, 'utf8')).toMatch(/# from test\/fixtures\/keepalived\/pair\/lb1\.conf:25, test\/fixtures\/keepalived\/pair\/lb2\.conf:25\n {2}VI_1:/);
    // mail settings and vrrp_strict are named, with what to do instead
    const byKeyword = (k: string) => pair.json.warnings.filter((w) => w.keyword === k);
    expect(byKeyword('smtp_server')[0]!.message).toMatch(/NATS alerts/);
    expect(byKeyword('vrrp_strict')[0]!.message).toMatch(/iptables rule that drops all traffic to the VIP/);

    const three = await importSet(['three/node-a.conf', 'three/node-b.conf', 'three/node-c.conf']);
    const web = three.config.vrrp_instances.VI_WEB;
    expect(web).toMatchObject({ interface: 'ens3', version: 3, garp_master_delay: 1, nopreempt: true, check_unicast_src: true });
    expect(web.nodes['node-b']).toEqual({ interface: 'ens4', priority: 110, unicast_src_ip: '192.168.10.2', unicast_peer: ['192.168.10.1', '192.168.10.3'] });
    expect(three.config.vrrp_sync_groups.SG_1).toEqual({ group: ['VI_WEB', 'VI_DB'], notify_master: ['/usr/local/bin/sync-notify', 'master'] });
    expect(three.config.vip_groups.VI_WEB.addresses).toEqual(['192.168.10.100/24']); // "dev <the node's interface>" dropped
    expect(three.config.global_defs).toEqual({ vrrp_priority: -15, vrrp_log_unknown_vrids: true });

    const lvs = await importSet(['lvs/director.conf']);
    const http = lvs.config.virtual_servers['10.1.0.10_80'];
    expect(http).toMatchObject({ ip: '10.1.0.10', port: 80, lb_algo: 'wrr', lb_kind: 'DR', persistence_timeout: 50, sorry_server: { ip: '10.1.0.99', port: 80 }, quorum_up: ['/usr/local/bin/quorum', 'up'] });
    expect(http.real_servers[0].checks[0]).toEqual({ type: 'HTTP_GET', url: [{ path: '/status', digest: '9b3a0c85a887a256d6939da88aabd8cd' }, { path: '/health', status_code: 200 }], connect_timeout: 3, retry: 3, delay_before_retry: 3 });
    expect(lvs.config.virtual_servers['10.1.0.11_443']).toMatchObject({ lb_algo: 'rr', lb_kind: 'NAT' }); // lvs_sched, lvs_method
    expect(lvs.config.virtual_servers['10.1.0.11_53'].real_servers.map((r: { checks: { type: string }[] }) => r.checks[0]!.type)).toEqual(['DNS_CHECK', 'PING_CHECK']);
    expect(lvs.config.virtual_server_groups.web_vips).toEqual([{ ip: '10.1.0.10', port: 80 }, { ip: '10.1.0.11', port: 80 }, { fwmark: 7 }]);

    const faults = await importSet(['faults/keepalived.conf']);
    expect(faults.config.track_scripts.chk_port.script).toEqual(['/bin/sh', '-c', "ss -ltn | grep -q ':443 '"]);
    expect(faults.json.warnings.find((w) => w.keyword === 'script')!.message).toMatch(/\/bin\/sh -c/);
    for (const k of ['debug', 'vrrp_strict', 'use_vmac', 'lvs_timeouts', 'authentication', 'virtual_routes', 'brd']) expect(faults.json.warnings.map((w) => w.keyword), k).toContain(k);
    expect(faults.config.vrrp_instances.VI_F.state).toBe('MASTER');
  });

  it("one file for every node, as keepalived's -i reads it: each node's @ID lines, parameters, multi-line templates and ~SEQ", async () => {
    const file = join(F, 'templated/keepalived.conf');
    const r = await importSet([], ['--node', `lb1=${file}`, '--node', `lb2=${file}`]);
    expect(r.json.conflicts).toEqual([]);
    expect(r.json.ok).toBe(true);
    expect(r.json.nodes).toEqual(['lb1', 'lb2']);
    expect(r.json.warnings.filter((w) => /not translated|not a keyword vigil's importer knows/.test(w.message))).toEqual([]);
    const vi = r.config.vrrp_instances.VI_WEB;
    expect(vi.nodes).toEqual({
      lb1: { state: 'MASTER', priority: 150, unicast_src_ip: '10.20.0.11', unicast_peer: ['10.20.0.12'] },
      lb2: { state: 'BACKUP', priority: 100, unicast_src_ip: '10.20.0.12', unicast_peer: ['10.20.0.11'] },
    });
    expect(r.config.vip_groups.VI_WEB.addresses).toEqual(['10.20.0.100/24', '10.20.0.101/24', '10.20.0.102/24']);
    const vs = r.config.virtual_servers['10.20.0.100_80'];
    expect(vs.real_servers.map((x: { ip: string }) => x.ip)).toEqual(['10.20.0.21', '10.20.0.22']);
    expect(vs.real_servers[0].checks[0].url).toEqual([{ path: '/healthz', status_code: ['200-299', 304] }]);
    const check = await vigil(['config', 'check', r.out]);
    expect(check.code, check.stderr).toBe(0);
    // imported without naming the nodes by their config ids: keepalived's reading without -i, and the hint
    const plain = await importSet(['templated/keepalived.conf']);
    expect(plain.json.warnings.find((w) => w.keyword === '@lb1')?.message).toMatch(/config ids lb1, lb2 .* --node lb1=.* --node lb2=/);
  });

  it("Debian's keepalived samples: each becomes a configuration vigil's check accepts, or the import says there is nothing it can carry", async () => {
    const samples = '/usr/share/doc/keepalived/samples';
    const files = readdirSync(samples).filter((f) => f.startsWith('keepalived.conf.'));
    expect(files.length, 'the keepalived package installs its samples').toBeGreaterThan(20);
    for (const f of files) {
      const out = join(tmp.path, `${f}.yaml`);
      const r = await vigil(['import', 'keepalived', join(samples, f), '-o', out, '--json', '--zookeeper', 'zk1:2181']);
      const json = JSON.parse(r.stdout) as ImportJson & { check_problems: string[]; parse_problems: string[] };
      expect(json.check_problems, f).toEqual([]);
      expect(json.parse_problems, f).toEqual([]);
      if (json.ok) {
        const check = await vigil(['config', 'check', out]);
        expect(check.code, `${f}: ${check.stderr}`).toBe(0);
      } else {
        // only a file of IPv6 services has nothing vigil carries; its lines say so
        expect(f).toBe('keepalived.conf.IPv6');
        expect(json.warnings.filter((w) => /IPv6/.test(w.message)).length).toBeGreaterThan(0);
      }
    }
  }, 120_000);

  it('a conflict between node files is an error naming both lines, and nothing is written (exit 2)', async () => {
    const lb2 = join(tmp.path, 'lb2.conf');
    writeFileSync(lb2, readFileSync(join(F, 'pair/lb2.conf'), 'utf8').replace('virtual_router_id 51', 'virtual_router_id 52'));
    const out = join(tmp.path, 'out.yaml');
    const r = await vigil(['import', 'keepalived', join(F, 'pair/lb1.conf'), lb2, '-o', out]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/conflict: .*pair\/lb1\.conf:28: virtual_router_id: vrrp_instance VI_1: virtual_router_id differs between .*lb1\.conf:28 \(lb1\) and .*lb2\.conf:28 \(lb2\)/);
    expect(r.stderr).toMatch(/no usable configuration/);
    expect(() => readFileSync(out)).toThrow();
  });

  it('names each node by --node NAME=FILE, else router_id, and refuses two files of one node', async () => {
    const r = await importSet(['lvs/director.conf'], ['--node', `edge1=${join(F, 'lvs/director.conf')}`]);
    expect(r.json.nodes).toEqual(['edge1']);
    const same = await vigil(['import', 'keepalived', join(F, 'pair/lb1.conf'), join(F, 'pair/lb1.conf'), '--node', `a=${join(F, 'pair/lb1.conf')}`]);
    expect(same.code, same.stderr).toBe(1); // one file named twice is one node (with warnings)
    const twice = await vigil(['import', 'keepalived', join(F, 'pair/lb1.conf'), join(F, 'faults/keepalived.conf'), '--node', `x=${join(F, 'pair/lb1.conf')}`, '--node', `x=${join(F, 'faults/keepalived.conf')}`]);
    expect(twice.code).toBe(2);
    expect(twice.stderr).toMatch(/two files are node x/);
  });
});
