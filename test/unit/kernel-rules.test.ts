import { describe, expect, it } from 'vitest';
import { installScript, liveScript, withdrawScript } from '../../services/fence/kernel-rules.js';

describe('kernel fence scripts', () => {
  it('install replaces both tables in one script and drops any VIP not live, both ways, for IP and ARP', () => {
    const s = installScript(['10.0.0.1', '10.0.0.2']);
    expect(s.indexOf('delete table inet vigil_fence')).toBeLessThan(s.indexOf('table inet vigil_fence {'));
    expect(s).toContain('ip daddr @vips ip daddr != @live drop');
    expect(s).toContain('ip saddr @vips ip saddr != @live drop');
    expect(s).toContain('arp daddr ip @vips arp daddr ip != @live drop');
    expect(s).toContain('arp saddr ip @vips arp saddr ip != @live drop');
    expect(s).toContain('add element arp vigil_fence vips { 10.0.0.1, 10.0.0.2 }');
    expect(installScript([])).not.toContain('add element');
  });

  it('a renewal replaces the element (add, delete, add) with whole milliseconds, at least 1', () => {
    const lines = liveScript(['10.0.0.1'], 287.9).trim().split('\n');
    expect(lines.slice(0, 3)).toEqual([
      'add element inet vigil_fence live { 10.0.0.1 timeout 1ms }',
      'delete element inet vigil_fence live { 10.0.0.1 }',
      'add element inet vigil_fence live { 10.0.0.1 timeout 287ms }',
    ]);
    expect(lines).toHaveLength(6);
    expect(liveScript(['10.0.0.1'], 0.2)).toContain('10.0.0.1 timeout 1ms }\nadd element arp');
    expect(withdrawScript(['10.0.0.1']).trim().split('\n').at(-1)).toBe('delete element arp vigil_fence live { 10.0.0.1 }');
  });
});
