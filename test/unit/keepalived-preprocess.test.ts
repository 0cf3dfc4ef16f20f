// keepalived's conditional lines, parameters and sequences (keepalived.conf(5), "ADVANCED
// CONFIGURATION"), as the importer reads them before any keyword.
import { describe, expect, it } from 'vitest';
import { newPreprocessState, preprocess, type PreprocessProblem } from '../../cli/import/keepalived-preprocess.js';
import { parseKeepalived } from '../../cli/import/keepalived-parse.js';

const run = (text: string, configId = 'main') => {
  const problems: PreprocessProblem[] = [];
  const lines = preprocess(text, '/etc/keepalived/k.conf', newPreprocessState(configId), problems);
  return { lines: lines.map((l) => [l.line, l.text.trim()]), problems };
};

describe("keepalived's preprocessing", () => {
  it('keeps "@ID" lines on that config id only, "@^ID" lines on every other, with their line numbers', () => {
    const text = ['global_defs {', '  @main   router_id main_router', '  @backup router_id backup_router', '}', 'unicast_peer {', '  @^main 1.2.3.4', '  @^backup 1.2.3.5', '}'].join('\n');
    expect(run(text, 'main').lines).toEqual([[1, 'global_defs {'], [2, 'router_id main_router'], [4, '}'], [5, 'unicast_peer {'], [7, '1.2.3.5'], [8, '}']]);
    expect(run(text, 'other').lines.map((l) => l[1])).toEqual(['global_defs {', '}', 'unicast_peer {', '1.2.3.4', '1.2.3.5', '}']);
  });

  it('replaces parameters where they are used, recursively, with their value at that time; an undefined one stays', () => {
    const text = [
      '$ADDRESS_BASE=10.2.${ADDRESS_BASE_SUB}',
      '$ADDRESS_BASE_SUB=0',
      '${ADDRESS_BASE}.100/32',
      '$ADDRESS_BASE_SUB=10',
      '${ADDRESS_BASE}.100/32',
      '@main $PRIORITY=240',
      '@backup $PRIORITY=200',
      'priority $PRIORITY',
      '$IF_MAIN=@main',
      '$IF_MAIN advert_int 2',
      'script "/bin/check $1 ${UNDEFINED}" # a comment',
      'misc_path "${_PWD}/x.sh ${_INSTANCE} ${_HASH}1"',
    ].join('\n');
    expect(run(text).lines).toEqual([
      [3, '10.2.0.100/32'], [5, '10.2.10.100/32'], [8, 'priority 240'], [10, 'advert_int 2'],
      [11, 'script "/bin/check $1 ${UNDEFINED}"'], [12, 'misc_path "/etc/keepalived/x.sh main #1"'],
    ]);
    expect(run(text, 'backup').lines[2]).toEqual([8, 'priority 200']);
    expect(run('$IF_MAIN=@main\n$IF_MAIN advert_int 2', 'backup').lines).toEqual([]);
  });

  it('warns of a ${NAME} that nothing defines outside quotes (a template to render first); quoted ones are a script\'s own', () => {
    const r = run('interface ${interface}\nscript "/bin/sh -c \'echo ${HOME}\'"');
    expect(r.lines.map((l) => l[1])).toEqual(['interface ${interface}', 'script "/bin/sh -c \'echo ${HOME}\'"']);
    expect(r.problems).toEqual([{ file: '/etc/keepalived/k.conf', line: 1, severity: 'warning', keyword: '${interface}', message: expect.stringMatching(/^\$\{interface\}: no parameter \$interface is defined .* a template to render first/) }]);
  });

  it('expands multi-line parameters, definitions inside them taking effect as they are used', () => {
    const text = [
      '$RS= \\',
      'real_server 192.168.${VS}.${RS_NUM} 80 { \\',
      '    weight 1 \\',
      '}',
      '$VS_BODY= \\',
      'virtual_server 10.0.${VS}.4 80 { \\',
      '    $RS_NUM=1 \\',
      '    $RS \\',
      '    $RS_NUM=2 \\',
      '    $RS \\',
      '}',
      '$VS=7',
      '$VS_BODY',
    ].join('\n');
    const r = run(text);
    expect(r.lines.map((l) => l[1])).toEqual(['virtual_server 10.0.7.4 80 {', 'real_server 192.168.7.1 80 {', 'weight 1', '}', 'real_server 192.168.7.2 80 {', 'weight 1', '}', '}']);
    expect(r.lines.every((l) => l[0] === 13), 'each line of the expansion is the using line').toBe(true);
  });

  it('repeats a line for ~SEQ, ~SEQx and ~LST values, nested', () => {
    expect(run('~SEQ(SUBNET, 0, 3) ip_address 10.0.${SUBNET}.1').lines.map((l) => l[1])).toEqual(['ip_address 10.0.0.1', 'ip_address 10.0.1.1', 'ip_address 10.0.2.1', 'ip_address 10.0.3.1']);
    expect(run('~SEQx(S, 0x90, 0x10, 0xc0) fe80::20:${S}:1').lines.map((l) => l[1])).toEqual(['fe80::20:90:1', 'fe80::20:a0:1', 'fe80::20:b0:1', 'fe80::20:c0:1']);
    expect(run('~SEQ(N, 3) x${N}').lines.map((l) => l[1])).toEqual(['x1', 'x2', 'x3']);
    expect(run('~SEQ(A, 1, 2) ~SEQ(B, 5, -1, 4) ${A}.${B}').lines.map((l) => l[1])).toEqual(['1.5', '1.4', '2.5', '2.4']);
    expect(run('~LST({IP, IP1}, {10,1},{20,4}) 192.168.${IP}.${IP1}').lines.map((l) => l[1])).toEqual(['192.168.10.1', '192.168.20.4']);
    expect(run('~LST(V, a, b) x ${V}').lines.map((l) => l[1])).toEqual(['x a', 'x b']);
  });

  it('names what it cannot expand, with its line, and goes on', () => {
    const r = run('$A=${A}x\n$A\n~SEQ(X, 1, 0, 5) y\n~SEQ(X, 1 z\nnext');
    expect(r.problems.map((p) => [p.line, p.message.replace(/:.*/, '')])).toEqual([[2, 'parameters nested more than 32 deep (one that refers to itself?)'], [3, '~SEQ(X, 1, 0, 5)'], [4, '~SEQ( is not closed']]);
    expect(r.lines.at(-1)).toEqual([5, 'next']);
  });

  it('through the parser: a multi-line parameter is several statements, each at the line that used it', () => {
    const text = '$INST= \\\nvrrp_instance VI_${N} { \\\n  priority 1${N}0 \\\n}\n~SEQ(N, 1, 2) $INST\n';
    const p = parseKeepalived(text, 'k.conf', () => [], 'lb1');
    expect(p.problems).toEqual([]);
    expect(p.statements.map((s) => [s.key, s.args, s.line, s.block?.map((b) => [b.key, ...b.args])])).toEqual([
      ['vrrp_instance', ['VI_1'], 5, [['priority', '110']]],
      ['vrrp_instance', ['VI_2'], 5, [['priority', '120']]],
    ]);
    expect(p.lines.map((l) => l.line), 'the lines to account for: the one that made them').toEqual([5]);
  });
});
