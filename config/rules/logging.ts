/**
 * How the process writes its logs. JSON lines (pino's format, one object per line) are the default: what log
 * collectors parse, and what production always gets. A person reading a terminal gets readable lines
 * (pino-pretty) instead, only outside production, and only when stdout is a terminal (never when it is piped or
 * redirected to a file, where JSON stays). The content is the same either way (redaction applies before
 * formatting). Pure: the caller says whether stdout is a terminal.
 */

export type LogFormat = 'json' | 'pretty';

export function logFormatOf(i: { production: boolean; stdoutIsTTY: boolean }): LogFormat {
  return !i.production && i.stdoutIsTTY ? 'pretty' : 'json';
}
