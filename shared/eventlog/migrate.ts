// Schema changes only through numbered files in migrations/ (NNNN_name.sql), applied in
// order at start-up, each once, in an IMMEDIATE transaction so that several services
// opening the same file at the same moment apply each migration exactly once.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { packageRoot } from '../paths.js';

export interface Migration {
  version: number;
  name: string;
  sql: string;
  sha256: string;
}

const FILE = /^(\d{4})_([a-z0-9_]+)\.sql$/;

export function loadMigrations(dir = join(packageRoot(), 'migrations')): Migration[] {
  const migrations = readdirSync(dir)
    .filter((f) => FILE.test(f))
    .map((f) => {
      const m = FILE.exec(f)!;
      const sql = readFileSync(join(dir, f), 'utf8');
      return { version: Number(m[1]), name: m[2]!, sql, sha256: createHash('sha256').update(sql).digest('hex') };
    })
    .sort((a, b) => a.version - b.version);
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) throw new Error(`migrations must be numbered 0001, 0002, ... without gaps; found ${String(m.version).padStart(4, '0')}_${m.name}.sql at position ${i + 1}`);
  });
  return migrations;
}

export class MigrationError extends Error {}

/** Applies what is missing; refuses a database whose applied migrations differ from the files. */
export function migrate(db: Database.Database, migrations: Migration[] = loadMigrations()): number[] {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY, name TEXT NOT NULL, sha256 TEXT NOT NULL, applied_ts INTEGER NOT NULL)`);
  const applied: number[] = [];
  const run = db.transaction(() => {
    const done = db.prepare('SELECT version, name, sha256 FROM schema_migrations ORDER BY version').all() as { version: number; name: string; sha256: string }[];
    for (const row of done) {
      const m = migrations[row.version - 1];
      if (!m) throw new MigrationError(`the database has migration ${row.version} (${row.name}) that this vigil does not know: it was written by a newer version`);
      if (m.sha256 !== row.sha256) throw new MigrationError(`migration ${row.version} (${row.name}) was changed after it was applied; add a new migration instead`);
    }
    for (const m of migrations.slice(done.length)) {
      db.exec(m.sql);
      db.prepare('INSERT INTO schema_migrations (version, name, sha256, applied_ts) VALUES (?, ?, ?, ?)').run(m.version, m.name, m.sha256, Date.now());
      applied.push(m.version);
    }
  });
  run.immediate();
  return applied;
}

/** For a reader that may not write: the database's migrations are this vigil's (an older file with what readers need is fine). */
export function checkSchema(db: Database.Database, migrations: Migration[] = loadMigrations()): void {
  const done = db.prepare('SELECT version, sha256 FROM schema_migrations ORDER BY version').all() as { version: number; sha256: string }[];
  if (done.length > migrations.length) throw new MigrationError(`the database has ${done.length} migrations, this vigil knows ${migrations.length}: it was written by a newer version`);
  for (const row of done) {
    if (migrations[row.version - 1]?.sha256 !== row.sha256) throw new MigrationError(`migration ${row.version} differs from this vigil's`);
  }
  // Fewer is fine for reading: migrations so far only add tables and indexes that readers
  // of events do not need (a migration that changes what readers see must refuse here).
  const READABLE_FROM = 4; // 0004: the subject index that queries read
  if (done.length < READABLE_FROM) {
    throw new MigrationError(`the database has ${done.length} of this vigil's ${migrations.length} migrations (written by an older version); a vigil service that opens it upgrades it`);
  }
}
