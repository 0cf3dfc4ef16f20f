// Real IPVS: our machines' kernel has none, so test/vm/*.vm.test.ts run inside one boot
// of the test VM (Debian's stock kernel, ip_vs loaded, this checkout shared read-only).
// Each test in there becomes one result here.
import { describe, expect, it } from 'vitest';
import { runInVm } from '../vm/ipvs-vm.js';

interface JsonReport {
  success: boolean;
  testResults: { name: string; message: string; assertionResults: { fullName: string; status: string; failureMessages: string[] }[] }[];
}

describe('the IPVS service against a real kernel (in a VM)', () => {
  it('passes every test of test/vm/ipvs.vm.test.ts', { timeout: 900_000 }, async () => {
    const r = await runInVm(['node', 'node_modules/vitest/vitest.mjs', 'run', '--config', 'test/vm/vitest.config.ts', '--reporter=json'], { timeoutMs: 840_000 });
    let report: JsonReport;
    try {
      report = JSON.parse(r.stdout.slice(r.stdout.indexOf('{'))) as JsonReport;
    } catch {
      throw new Error(`no report from the VM (exit ${r.code})\nstdout:\n${r.stdout.slice(-4000)}\nstderr:\n${r.stderr.slice(-8000)}`);
    }
    const results = report.testResults.flatMap((f) => f.assertionResults.map((a) => ({ name: a.fullName, status: a.status, failure: a.failureMessages.join('\n') })));
    const failed = results.filter((t) => t.status !== 'passed');
    const fileErrors = report.testResults.filter((f) => f.message).map((f) => `${f.name}: ${f.message}`);
    expect(fileErrors, r.stderr.slice(-8000)).toEqual([]);
    expect(failed.map((t) => `${t.name}\n${t.failure}`), r.stderr.slice(-8000)).toEqual([]);
    expect(results.map((t) => t.name)).toEqual([
      'vigil run ipvs on a real IPVS table creates every service from empty, each line recorded as an event',
      'vigil run ipvs on a real IPVS table repairs changes made by hand with ipvsadm, and records them as drift first',
      'vigil run ipvs on a real IPVS table a restart with a table that is already right changes nothing',
      'vigil run ipvs on a real IPVS table a line the kernel refuses is reported and retried; the other lines apply and only they are recorded',
      'vigil run ipvs on a real IPVS table one ipvsadm process per reconcile after the first read',
      'vigil run ipvs on a real IPVS table a drift check runs ipvsadm only when /proc/net/ip_vs changed (or each minute); a change by hand is still repaired',
      'vigil run ipvs on a real IPVS table a reload applies only the difference: an unchanged virtual server is not touched, a new one is added, a removed one deleted, a changed one edited',
    ]);
    expect(r.code).toBe(0);
  });
});
