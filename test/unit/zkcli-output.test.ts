// zkCli.sh's watcher notice, printed by another thread, must not split the command's output.
import { describe, expect, it } from 'vitest';
import { withoutWatcherNotices } from '../../lab/zookeeper.js';

describe('zkCli.sh output', () => {
  it('drops the watcher notice wherever it landed, and nothing else', () => {
    const seenInCi = 'Connecting to 10.77.0.3:34931\n[n1, \nWATCHER::\n\nWatchedEvent state:SyncConnected type:None path:null\nn2]\n';
    expect(withoutWatcherNotices(seenInCi)).toBe('Connecting to 10.77.0.3:34931\n[n1, n2]\n');
    const usual = 'Connecting to 127.0.0.1:2181\n\nWATCHER::\n\nWatchedEvent state:SyncConnected type:None path:null\n[vigil, zookeeper]\n';
    expect(withoutWatcherNotices(usual)).toBe('Connecting to 127.0.0.1:2181\n[vigil, zookeeper]\n');
    expect(withoutWatcherNotices('{"node":"n1"}\n')).toBe('{"node":"n1"}\n');
  });
});
