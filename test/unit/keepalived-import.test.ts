// keepalived.conf read as keepalived 2.2 reads it, and the importer's line accounting.
import { describe, expect, it } from 'vitest';
import { parseKeepalived } from '../../cli/import/keepalived-parse.js';
import { translateNode, scriptArgv } from '../../cli/import/keepalived-translate.js';
import { unaccounted } from '../../cli/import/keepalived-merge.js';

const noIncludes = () => [];

describe('keepalived.conf parser', () => {
  it('reads comments anywhere outside quotes, braces on the same or the next line, quoted strings and one-line blocks', () => {
    const text = [
      '! a comment',
      'vrrp_script chk { # trailing comment',
      '  script "/bin/check --flag \'#not a comment\'"  ! trailing',
      '}',
      'vrrp_instance VI_1',
      '{',
      '  unicast_peer { 10.0.0.2 10.0.0.3 }',
      '  nopreempt',
      '}',
    ].join('\n');
    const p = parseKeepalived(text, 'k.conf', noIncludes);
    expect(p.problems).toEqual([]);
    expect(p.statements.map((s) => [s.key, s.args, s.line])).toEqual([['vrrp_script', ['chk'], 2], ['vrrp_instance', ['VI_1'], 5]]);
    expect(p.statements[0]!.block![0]).toMatchObject({ key: 'script', args: ["/bin/check --flag '#not a comment'"], line: 3 });
    expect(p.statements[1]!.open).toEqual({ file: 'k.conf', line: 6 });
    expect(p.statements[1]!.block!.map((s) => [s.key, s.args])).toEqual([['unicast_peer', []], ['nopreempt', []]]);
    expect(p.statements[1]!.block![0]!.block!.map((s) => [s.key, ...s.args])).toEqual([['10.0.0.2', '10.0.0.3']]);
    expect(p.lines.map((l) => l.line)).toEqual([2, 3, 4, 5, 6, 7, 8, 9]); // line 1 is only a comment
  });

  it('names unbalanced braces and includes that match nothing, with their lines', () => {
    const p = parseKeepalived('global_defs {\n  router_id x\ninclude /none/*.conf\n', 'k.conf', noIncludes);
    expect(p.problems).toEqual([
      { file: 'k.conf', line: 3, message: 'include /none/*.conf: no file matches (keepalived goes on without it; so does the import)', severity: 'warning' },
      { file: 'k.conf', line: 1, message: 'the block of "global_defs" is not closed', severity: 'error' },
    ]);
    expect(parseKeepalived('}\n', 'k.conf', noIncludes).problems[0]).toMatchObject({ line: 1, severity: 'error' });
  });

  it('reads an include at its place, from the files the reader finds', () => {
    const p = parseKeepalived('include conf.d/*.conf\nvrrp_script b {\n}\n', '/etc/k.conf', (pattern, from) => (pattern === 'conf.d/*.conf' && from === '/etc/k.conf' ? [{ file: '/etc/conf.d/a.conf', text: 'vrrp_script a {\n}\n' }] : []));
    expect(p.statements.map((s) => `${s.file}:${s.line} ${s.key} ${s.args.join(' ')}`)).toEqual(['/etc/k.conf:1 include conf.d/*.conf', '/etc/conf.d/a.conf:1 vrrp_script a', '/etc/k.conf:2 vrrp_script b']);
  });
});

describe('the importer', () => {
  it('turns plain script strings into argv lists and wraps shell syntax in /bin/sh -c', () => {
    expect(scriptArgv(['/usr/bin/pgrep -x haproxy'])).toEqual({ argv: ['/usr/bin/pgrep', '-x', 'haproxy'], shell: false });
    for (const s of ['a | b', 'a && b', 'echo $(date)', 'a > /tmp/x', 'X=1 a', 'ls *.conf']) expect(scriptArgv([s]), s).toEqual({ argv: ['/bin/sh', '-c', s], shell: true });
  });

  it('accounts for every line: a line it does not know is found, a known one is not', () => {
    const p = parseKeepalived('vrrp_instance VI_1 {\n  interface eth0\n  frobnicate 3\n}\nwhatever\n', 'k.conf', noIncludes);
    const node = translateNode(p.statements);
    const left = unaccounted(p.lines, [{ name: 'a', imported: node }], node.warnings);
    expect(left).toEqual([]); // both unknown keywords are warned, not silently dropped
    expect(node.warnings.map((w) => `${w.line} ${w.keyword}`)).toEqual(['3 frobnicate', '5 whatever']);
    // and a line that neither translation nor a warning names is reported
    expect(unaccounted(p.lines, [{ name: 'a', imported: { ...node, used: new Set() } }], [])).toHaveLength(5);
  });
  it('drops what keepalived drops, with a warning: a script-less vrrp_script and its trackers, a member-less sync group, an address listed twice; IPv6 named and left out', () => {
    const text = [
      'vrrp_script empty {', '  interval 1', '}',
      'vrrp_sync_group SG {', '  VI_1', '}',
      'vrrp_instance VI_1 {', '  interface eth0', '  virtual_router_id 1',
      '  track_script {', '    empty', '  }',
      '  virtual_ipaddress {', '    10.0.0.1/24', '    10.0.0.1/24', '    fd00::1/64', '  }', '}',
      'virtual_server fd00::10 80 {', '  real_server fd00::11 80 {', '  }', '}',
      'virtual_server 10.0.0.10 80 {', '  real_server fd00::11 80 {', '  }', '  real_server 10.0.0.11 80 {', '  }', '  lb_algo loadbalance', '  lb_kind dr', '}',
    ].join('\n');
    const p = parseKeepalived(text, 'k.conf', noIncludes);
    const node = translateNode(p.statements);
    expect(node.trackScripts).toEqual({});
    expect(node.syncGroups).toEqual({});
    expect(node.instances.VI_1!.fields.track_script).toBeUndefined();
    expect(node.vips.VI_1!.fields.addresses!.value).toEqual(['10.0.0.1/24']);
    expect(Object.keys(node.virtualServers)).toEqual(['10.0.0.10_80']);
    expect((node.virtualServers['10.0.0.10_80']!.fields.real_servers!.value as { ip: string }[]).map((r) => r.ip)).toEqual(['10.0.0.11']);
    const said = (line: number, re: RegExp) => expect(node.warnings.some((w) => w.line === line && re.test(w.message)), `line ${line}: ${re}`).toBe(true);
    said(1, /^vrrp_script empty has no script \(keepalived removes it too\)/);
    said(4, /^vrrp_sync_group SG has no group \{ \} of instances/);
    said(15, /^10\.0\.0\.1\/24 is listed twice in this instance/);
    for (const line of [16, 19, 24]) said(line, /^an IPv6 address: vigil carries IPv4/);
    said(10, /^VI_1 tracks empty, which no vrrp_script defines/);
    said(28, /^"loadbalance" is not one of rr, wrr, .*: left out \(the default, wlc, as keepalived falls back to\)/);
    expect(node.virtualServers['10.0.0.10_80']!.fields.lb_algo).toBeUndefined();
    expect(node.virtualServers['10.0.0.10_80']!.fields.lb_kind!.value).toBe('DR');
    expect(unaccounted(p.lines, [{ name: 'a', imported: node }], node.warnings)).toEqual([]);
  });
  it("turns vrrp_track_process into a track script that runs pgrep, and track_process into its tracker", () => {
    const text = [
      'vrrp_track_process chk_haproxy {', '  process haproxy', '  delay 2.5', '  weight -20', '}',
      'vrrp_track_process chk_workers {', '  process "php-fpm: pool www"', '  quorum 2', '}',
      'vrrp_instance VI_1 {', '  interface eth0', '  virtual_router_id 1', '  track_script {', '    chk_a', '  }', '  track_process {', '    chk_haproxy', '    chk_workers weight 5', '  }', '}',
      'vrrp_script chk_a {', '  script /bin/true', '}',
    ].join('\n');
    const p = parseKeepalived(text, 'k.conf', noIncludes);
    const node = translateNode(p.statements);
    const fields = (name: string) => Object.fromEntries(Object.entries(node.trackScripts[name]!.fields).map(([k, v]) => [k, v.value]));
    expect(fields('chk_haproxy')).toEqual({ script: ['/usr/bin/pgrep', '-x', 'haproxy'], interval: 1, fall: 3, weight: -20 });
    expect(fields('chk_workers')).toEqual({ script: ['/bin/sh', '-c', `[ "$(/usr/bin/pgrep -c -f -x 'php-fpm: pool www')" -ge 2 ]`], interval: 1 });
    expect(node.instances.VI_1!.fields.track_script!.value).toEqual(['chk_a', 'chk_haproxy', { name: 'chk_workers', weight: 5 }]);
    expect(unaccounted(p.lines, [{ name: 'a', imported: node }], node.warnings)).toEqual([]);
  });
  it('an authentication block written on one line has no password (keepalived ignores it): left out, with a warning, not an empty password', () => {
    const p = parseKeepalived('vrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 5\n  authentication { auth_type PASS auth_pass secret }\n}\n', 'k.conf', noIncludes);
    const node = translateNode(p.statements);
    expect(node.instances.VI_1!.fields.authentication).toBeUndefined();
    expect(node.warnings.find((w) => w.line === 4)?.message).toMatch(/keepalived ignores the authentication/);
    expect(unaccounted(p.lines, [{ name: 'a', imported: node }], node.warnings)).toEqual([]);
  });
  it('a password longer than 8 characters is cut to the 8 keepalived uses (its peers send those), with a note', () => {
    const p = parseKeepalived('vrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 5\n  authentication {\n    auth_type PASS\n    auth_pass supersecret\n  }\n}\n', 'k.conf', noIncludes);
    const node = translateNode(p.statements);
    expect(node.instances.VI_1!.fields.authentication!.value).toEqual({ auth_type: 'PASS', auth_pass: 'supersec' });
    expect(node.warnings.find((w) => w.line === 6)?.message).toMatch(/keepalived uses the first 8 characters \("supersec"\)/);
  });
});
