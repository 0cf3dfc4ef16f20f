// What a test file sets up is undone after every test, newest first, also when the test fails.
import { afterEach } from 'vitest';
import { tempDir, type TempDir } from './tmp.js';

export interface Teardown {
  /** Runs this after the current test. */
  push(step: () => unknown): void;
  /** A temporary folder removed after the current test. */
  tempDir(prefix: string): TempDir;
}

export function teardown(): Teardown {
  const steps: (() => unknown)[] = [];
  afterEach(async () => {
    for (const step of steps.splice(0).reverse()) await step();
  });
  return {
    push: (step) => void steps.push(step),
    tempDir(prefix) {
      const d = tempDir(prefix);
      steps.push(() => d.remove());
      return d;
    },
  };
}
