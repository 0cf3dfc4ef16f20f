import { describe, expect, it } from 'vitest';
import { createLogger } from '../../shared/logger.js';

describe('logger', () => {
  it('writes one JSON object per line with level, message, base and call fields', () => {
    const lines: string[] = [];
    const log = createLogger({ service: 'fence' }, { level: 'info', write: (l) => lines.push(l), now: () => 0 });
    log.debug('hidden');
    log.child({ group: 'web' }).warn('lease lost', { epoch: 7, err: new Error('session expired'), big: 10n });
    expect(lines).toHaveLength(1);
    expect(lines[0]!.endsWith('\n')).toBe(true);
    const rec = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(rec).toMatchObject({ ts: '1970-01-01T00:00:00.000Z', level: 'warn', msg: 'lease lost', service: 'fence', group: 'web', epoch: 7, big: '10' });
    expect(rec.err).toMatchObject({ name: 'Error', message: 'session expired' });
  });
});
