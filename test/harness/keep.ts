// A lab cluster started in a test keeps its folder (service logs, event logs, ZooKeeper's
// logs: a flake seen once can be read) if that test has failed by the time the cluster is
// destroyed in its afterEach or an afterAll (a destroy in the test's own finally comes before
// the failure is recorded). Read at the destroy, as onTestFailed's callbacks come only after
// the afterEach hooks, when the folder is gone. The hosts' network state at that moment (the
// kernel fence's sets, addresses, neighbours) goes into the folder too: what the services'
// logs cannot say.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TestRunner } from 'vitest';
import type { LabCluster } from '../../lab/cluster.js';

const NETWORK_STATE = [['nft', 'list', 'ruleset'], ['ip', '-d', 'address'], ['ip', 'neigh'], ['ip', 'route']];

/** Outside a test (a benchmark) nothing; returns the cluster. */
export function keepWhenFailed<C extends LabCluster>(c: C): C {
  const test = TestRunner.getCurrentTest();
  if (!test) return c;
  const destroy = c.destroy.bind(c);
  c.destroy = async () => {
    if (test.result?.state === 'fail') {
      c.keepFolder();
      await writeNetworkState(c).catch(() => undefined);
    }
    await destroy();
  };
  return c;
}

async function writeNetworkState(c: LabCluster): Promise<void> {
  for (const host of Object.keys(c.t.hosts)) {
    const parts: string[] = [];
    for (const argv of NETWORK_STATE) {
      const r = await c.t.exec(host, argv, { allowFail: true, timeoutMs: 5000 }).catch((err: unknown) => ({ stdout: '', stderr: String(err), code: -1 }));
      parts.push(`$ ${argv.join(' ')}\n${r.stdout}${r.stderr}`);
    }
    writeFileSync(join(c.dir, `${host}-network.txt`), parts.join('\n'));
  }
}
