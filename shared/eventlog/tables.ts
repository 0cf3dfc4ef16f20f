// Row types of the database, for kysely's query builder.
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

export interface LogTables {
  events: EventsTable;
  subject_index: SubjectIndexTable;
  subject_index_state: SubjectIndexStateTable;
  cursors: CursorsTable;
  meta: MetaTable;
}
