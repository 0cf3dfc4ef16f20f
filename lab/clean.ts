// Removes whatever an interrupted run (of the tests or of vigil demo) left: the processes
// the lab started (by recorded PID, only if the PID still names the same process), network
// namespaces named vg* (or $VIGIL_TEST_NS_PREFIX*, itself starting with vg), and temporary
// folders (after unmounting the small disks mounted in them). `npm run test:clean` and
// `vigil demo --clean` run it.
import { rmSync } from 'node:fs';
import { unmountUnder } from './disk.js';
import { deleteNamespace, listOurLinks, listOurNamespaces, PREFIX, sh } from './netns.js';
import { forgetDir, forgetProcess, processStartTime, recordedDirs, recordedProcesses } from './state.js';

/** Cleans the registry this process uses (lab/state.ts) and the namespaces named prefix* (default: $VIGIL_TEST_NS_PREFIX, else every vg*). */
export async function cleanAll(log: (line: string) => void = () => {}, namespacePrefix?: string): Promise<void> {
  const processes = recordedProcesses();
  // A Docker engine of the tests is asked to stop first: it stops its containers as it ends
  // (SIGKILL would leave them running under their shims).
  for (const p of processes.filter((x) => x.argv[0]?.endsWith('dockerd') && processStartTime(x.pid) === x.starttime)) {
    try {
      process.kill(p.pid, 'SIGTERM');
      const until = Date.now() + 30_000;
      while (processStartTime(p.pid) === p.starttime && Date.now() < until) await new Promise((r) => setTimeout(r, 200));
      log(`stopped the test Docker engine ${p.pid} and its containers`);
    } catch {
      // gone meanwhile
    }
  }
  for (const p of processes) {
    if (processStartTime(p.pid) === p.starttime) {
      try {
        process.kill(p.pid, 'SIGKILL');
        log(`killed ${p.pid} (${p.argv.slice(0, 3).join(' ')} ...)`);
      } catch {
        // gone meanwhile
      }
    }
    forgetProcess(p.pid);
  }
  const prefix = namespacePrefix ?? (process.env.VIGIL_TEST_NS_PREFIX || PREFIX);
  if (!prefix.startsWith(PREFIX)) throw new Error(`VIGIL_TEST_NS_PREFIX must start with ${PREFIX}`);
  for (const ns of (await listOurNamespaces()).filter((n) => n.startsWith(prefix))) {
    await deleteNamespace(ns);
    log(`deleted network namespace ${ns}`);
  }
  // Links of the root namespace (the Docker test's veth parent of its macvlan network).
  for (const link of (await listOurLinks()).filter((n) => n.startsWith(prefix))) {
    await sh(['ip', 'link', 'del', link], { allowFail: true });
    log(`deleted link ${link}`);
  }
  for (const dir of recordedDirs()) {
    unmountUnder(dir);
    rmSync(dir, { recursive: true, force: true });
    forgetDir(dir);
    log(`removed ${dir}`);
  }
}
