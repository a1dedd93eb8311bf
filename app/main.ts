/**
 * `npm start`: one process runs SMTP ingress, API and workers on embedded defaults (see config/settings.ts).
 * SIGINT/SIGTERM: stop accepting, let in-flight work finish, close the job queues and the database (and stop
 * the embedded PostgreSQL server this process owns). Bounded: the process exits within SHUTDOWN_DEADLINE_MS
 * even when PostgreSQL or Redis went away; whatever was cut short is what a kill -9 would leave, which the
 * durable accept and the outbox cover (a retry, never a loss). A signal during start-up stops it as well.
 */
import { loadConfig } from '../config/index.js';
import { createLogger, startGateway, type GatewayHandle } from './gateway.js';

const SHUTDOWN_DEADLINE_MS = 9_000;

const config = loadConfig();
const logger = createLogger(config.logLevel, undefined, { production: config.production });
let gw: GatewayHandle | null = null;
let stopping = false;

const stop = (signal: string) => {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, 'stopping');
  const force = setTimeout(() => {
    logger.error({ deadlineMs: SHUTDOWN_DEADLINE_MS }, 'shutdown deadline reached: exiting now');
    process.exit(1);
  }, SHUTDOWN_DEADLINE_MS);
  force.unref();
  (gw ? gw.close() : Promise.resolve()).then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.on('SIGINT', () => stop('SIGINT'));
process.on('SIGTERM', () => stop('SIGTERM'));

try {
  gw = await startGateway(config, { logger });
  if (stopping) {
    await gw.close();
    process.exit(0);
  }
  logger.info(
    { smtp: gw.smtpPort && `${config.smtp.host}:${gw.smtpPort}`, api: gw.apiPort && `http://${config.api.host}:${gw.apiPort}`, dataDir: config.dataDir },
    'mes-gateway started',
  );
} catch (err) {
  logger.fatal({ err: (err as Error).message }, 'start-up failed');
  console.error(`mes-gateway: ${(err as Error).message}`);
  process.exit(1);
}
