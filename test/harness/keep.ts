// A lab cluster started in a test keeps its folder (service logs, event logs, ZooKeeper's
// logs: a flake seen once can be read) if that test has failed by the time the cluster is
// destroyed in its afterEach or an afterAll (a destroy in the test's own finally comes before
// the failure is recorded). Read at the destroy, as onTestFailed's callbacks come only after
// the afterEach hooks, when the folder is gone.
import { TestRunner } from 'vitest';
import type { LabCluster } from '../../lab/cluster.js';

/** Outside a test (a benchmark) nothing; returns the cluster. */
export function keepWhenFailed<C extends LabCluster>(c: C): C {
  const test = TestRunner.getCurrentTest();
  if (!test) return c;
  const destroy = c.destroy.bind(c);
  c.destroy = async () => {
    if (test.result?.state === 'fail') c.keepFolder();
    await destroy();
  };
  return c;
}
