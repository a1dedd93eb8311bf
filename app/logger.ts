/**
 * The process logger. JSON lines by default (what log collectors parse, and all production ever gets); readable
 * lines (pino-pretty) when stdout is a terminal outside production (config/rules/logging.ts). Either way the same
 * redaction applies before formatting (authorization, cookies, passwords, INS, codes) and requests are logged by
 * route pattern only (api/request-log.ts): no health data in logs. The readable stream writes synchronously, so a
 * fatal line written just before process.exit is not lost.
 */
import { pino, type Logger } from 'pino';
import pinoPretty from 'pino-pretty';
import { serializeRequest } from '../api/index.js';
import { logFormatOf } from '../config/index.js';

/** To `destination` when given (a test's stream), else stdout, as `logFormatOf` decides. */
export function createLogger(level: string, destination?: NodeJS.WritableStream, o: { production?: boolean } = {}): Logger {
  const options = {
    level,
    redact: {
      paths: ['req.headers.authorization', 'req.headers.cookie', 'res.headers["set-cookie"]', '*.password', '*.ins', '*.code'],
      censor: '[redacted]',
    },
    serializers: { req: serializeRequest },
  };
  if (destination) return pino(options, destination);
  if (logFormatOf({ production: o.production ?? false, stdoutIsTTY: process.stdout.isTTY === true }) === 'pretty') {
    return pino(options, pinoPretty({ colorize: true, sync: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' }));
  }
  return pino(options);
}
