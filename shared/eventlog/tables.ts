// Row types of the database, as better-sqlite3 returns them.
export interface EventsTable {
  seq: number;
  id: string;
  ts: number;
  node: string;
  source: string;
  type: string;
  subject: string;
  data: string;
  causation: number | null;
  correlation: string | null;
  hash: string;
}

export interface CursorsTable {
  consumer: string;
  seq: number;
  ts: number;
}

export interface MetaTable {
  key: string;
  value: string;
}

export interface SubjectIndexTable {
  subject: string;
  seq: number;
}

export interface SubjectIndexStateTable {
  one: number;
  upto: number;
}
