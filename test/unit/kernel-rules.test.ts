import { describe, expect, it } from 'vitest';
import { installScript, replaceVipsScript } from '../../services/fence/kernel-rules.js';

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

  it('a reload replaces the managed addresses in both tables and leaves the live ones alone', () => {
    expect(replaceVipsScript(['10.0.0.3']).trim().split('\n')).toEqual([
      'flush set inet vigil_fence vips', 'add element inet vigil_fence vips { 10.0.0.3 }',
      'flush set arp vigil_fence vips', 'add element arp vigil_fence vips { 10.0.0.3 }',
    ]);
  });
});
