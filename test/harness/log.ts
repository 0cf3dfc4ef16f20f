// Reading a node's event log as an operator tool would, from a test.
import { EventLog, type StoredEvent } from '../../shared/eventlog/index.js';

/** Events of these types in the log at `db` (none if it does not exist yet). */
export function readEvents(db: string, types: string[]): StoredEvent[] {
  try {
    const log = EventLog.open({ path: db, readOnly: true });
    try {
      return log.query({ types });
    } finally {
      log.close();
    }
  } catch {
    return [];
  }
}
