import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Integration tests start JVMs and namespaces; two at a time on a 2-core machine.
    maxWorkers: 2,
    projects: [
      {
        extends: true,
        test: {
          name: 'host',
          include: ['test/**/*.test.ts'],
          // test/vm runs inside the IPVS VM; the VM's own test file runs alone, after the others,
          // and so does the postmortem's (see below).
          exclude: ['test/vm/**', 'test/integration/ipvs.test.ts', 'test/integration/postmortem.test.ts', 'test/integration/deploy.test.ts', 'node_modules/**'],
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: {
          // The emulated CPU of the VM takes a whole core: beside the fence tests it would
          // stretch their 2 ms observer's sampling past its bound.
          name: 'ipvs-vm',
          include: ['test/integration/ipvs.test.ts'],
          sequence: { groupOrder: 1 },
        },
      },
      {
        extends: true,
        test: {
          // Three directors with five services each, their observers and a browser: beside
          // another cluster test, the observers (at nice -20, sampling every 2 ms) of both
          // starve each other and see changes 100 ms late, and the comparison with the record
          // is the point of this test. Alone, last.
          name: 'alone',
          include: ['test/integration/postmortem.test.ts'],
          sequence: { groupOrder: 2 },
        },
      },
      {
        extends: true,
        test: {
          // Builds vigil's image (npm ci and tsc in a container) and runs eleven containers
          // with three JVMs: beside the timing tests it would starve their observers. Last.
          name: 'docker',
          include: ['test/integration/deploy.test.ts'],
          sequence: { groupOrder: 3 },
        },
      },
    ],
  },
});
