// The one logger: JSON lines on stderr (stdout belongs to command output).
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFields = Record<string, unknown>;

const rank: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
}

export interface LoggerOptions {
  level?: LogLevel;
  write?: (line: string) => void;
  now?: () => number;
}

function levelFromEnv(): LogLevel {
  const v = process.env.VIGIL_LOG_LEVEL;
  return v === 'debug' || v === 'info' || v === 'warn' || v === 'error' ? v : 'info';
}

function serialise(value: unknown): unknown {
  if (value instanceof Error) return { name: value.name, message: value.message, stack: value.stack };
  if (typeof value === 'bigint') return value.toString();
  return value;
}

export function createLogger(base: LogFields = {}, options: LoggerOptions = {}): Logger {
  const min = rank[options.level ?? levelFromEnv()];
  const write = options.write ?? ((line: string) => process.stderr.write(line));
  const now = options.now ?? Date.now;
  const emit = (level: LogLevel, msg: string, fields?: LogFields): void => {
    if (rank[level] < min) return;
    const record: LogFields = { ts: new Date(now()).toISOString(), level, msg, ...base };
    if (fields) for (const [k, v] of Object.entries(fields)) record[k] = serialise(v);
    write(JSON.stringify(record) + '\n');
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (fields) => createLogger({ ...base, ...fields }, options),
  };
}

/**
 * A warning that may repeat many times a second (a full disk, a dead dependency): the
 * first is logged at once, later ones at most once per intervalMs, with how many were
 * held back in between.
 */
export function throttledWarning(logger: Logger, msg: string, intervalMs = 60_000, level: 'warn' | 'error' = 'warn'): (fields?: LogFields) => void {
  let last = -Infinity;
  let held = 0;
  return (fields) => {
    const t = Date.now();
    if (t - last < intervalMs) {
      held += 1;
      return;
    }
    logger[level](msg, held > 0 ? { ...fields, repeated: held, over_ms: Math.round(t - last) } : fields);
    last = t;
    held = 0;
  };
}
