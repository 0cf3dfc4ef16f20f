// The IPVS reconcile benchmark needs a kernel with IPVS: it runs bench/ipvs-guest.ts
// inside the test VM and prints what it prints.
import { runInVm } from '../test/vm/ipvs-vm.js';

export async function benchIpvs(): Promise<void> {
  const r = await runInVm(['node', '--import', 'tsx', 'bench/ipvs-guest.ts'], { onStdout: (t) => process.stdout.write(t), onStderr: (t) => process.stderr.write(t), memoryMiB: 2048 });
  if (r.code !== 0) throw new Error(`the IPVS benchmark failed in the VM (exit ${r.code})`);
}
