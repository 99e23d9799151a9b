/**
 * serve's log: one line per event on its stream (stderr), as text for people (`2026-12-02 10:00:00.123 UTC
 * serve: backup-end backup=3 label="nightly" ...`) or as one JSON object per line for machines
 * (`--log-format json`: `{"time":...,"event":"backup-end","backup":3,...}`). Events and their fields are the same
 * in both forms; values that are bigint (LSNs, byte counts) are written as numbers or LSN text by the caller.
 * Secrets never reach it: callers log users and addresses, never passwords or cancel keys.
 */


export type LogFormat = 'text' | 'json';
export type LogFields = Readonly<Record<string, string | number | boolean | null | undefined>>;

export interface ServeLog {
  event(event: string, fields?: LogFields): void;
}

export function createServeLog(format: LogFormat, out: NodeJS.WritableStream): ServeLog {
  return {
    event(event, fields = {}) {
      const time = new Date();
      if (format === 'json') {
        out.write(`${JSON.stringify({ time: time.toISOString(), event, ...fields })}\n`);
        return;
      }
      const text = Object.entries(fields)
        .filter(([, value]) => value !== undefined)
        .map(([key, value]) => `${key}=${typeof value === 'string' && /[\s"=]/.test(value) ? JSON.stringify(value) : String(value)}`)
        .join(' ');
      out.write(`${time.toISOString().replace('T', ' ').replace('Z', ' UTC')} serve: ${event}${text === '' ? '' : ` ${text}`}\n`);
    },
  };
}
