// Structured logs: one JSON object a line, in the shape Cloud Logging reads (`severity`).
import { config } from './config.js';

type Level = 'debug' | 'info' | 'warn' | 'error';
const RANK: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };
const SEVERITY: Record<Level, string> = { debug: 'DEBUG', info: 'INFO', warn: 'WARNING', error: 'ERROR' };

export type LogFields = Record<string, unknown>;

function write(level: Level, message: string, fields: LogFields): void {
  if (RANK[level] < RANK[config().LOG_LEVEL]) return;
  const line = JSON.stringify({ severity: SEVERITY[level], message, time: new Date().toISOString(), ...fields });
  if (level === 'error' || level === 'warn') process.stderr.write(line + '\n');
  else process.stdout.write(line + '\n');
}

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
}

export function logger(base: LogFields = {}): Logger {
  return {
    debug: (m, f = {}) => write('debug', m, { ...base, ...f }),
    info: (m, f = {}) => write('info', m, { ...base, ...f }),
    warn: (m, f = {}) => write('warn', m, { ...base, ...f }),
    error: (m, f = {}) => write('error', m, { ...base, ...f }),
    child: (f) => logger({ ...base, ...f }),
  };
}

export const log = logger();

export function errorFields(err: unknown): LogFields {
  if (err instanceof Error) return { err: err.message, stack: err.stack };
  return { err: String(err) };
}
