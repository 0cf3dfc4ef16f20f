// What a failed command's error says (the vrrp service's start-up failure read "cannot read
// interface X: " with nothing after it: ip had timed out, and a timeout says nothing on stderr).
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { commandFailure } from '../../shared/iproute.js';

const run = promisify(execFile);
const failure = async (file: string, args: string[], timeout: number) => {
  try {
    await run(file, args, { timeout });
  } catch (err) {
    return commandFailure(err, file, timeout);
  }
  throw new Error('it did not fail');
};

describe('a failed command, in words', () => {
  it('its stderr; else a timeout, a signal or why it could not start', async () => {
    expect(await failure('sh', ['-c', 'echo "Device \\"x\\" does not exist." >&2; exit 1'], 5000)).toBe('Device "x" does not exist.');
    expect(await failure('sleep', ['5'], 50)).toBe('sleep did not finish within 50 ms');
    expect(await failure('sh', ['-c', 'kill -TERM $$'], 5000)).toBe('sh ended by SIGTERM');
    expect(await failure('/nonexistent/ip', [], 5000)).toMatch(/ENOENT/);
  });
});
