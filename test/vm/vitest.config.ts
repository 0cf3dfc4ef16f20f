// Tests that need real IPVS: run inside the VM (test/vm/ipvs-vm.ts) by
// test/integration/ipvs.test.ts, never on the host.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/vm/**/*.vm.test.ts'],
    pool: 'forks',
    maxWorkers: 1,
    // The VM emulates its CPU (no KVM on our machines): everything is several times slower.
    testTimeout: 180_000,
    hookTimeout: 180_000,
  },
});
