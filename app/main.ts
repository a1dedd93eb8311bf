/**
 * `npm start`: one process runs SMTP ingress, API and workers on embedded defaults (see config/settings.ts).
 * SIGINT/SIGTERM: stop accepting, finish in-flight work, close the database (PGlite checkpoints its WAL and the
 * lock file is released) and the private Redis.
 */
import { loadConfig } from '../config/index.js';
import { createLogger, startGateway } from './gateway.js';

const config = loadConfig();
const logger = createLogger(config.logLevel);

try {
  const gw = await startGateway(config, { logger });
  logger.info(
    { smtp: gw.smtpPort && `${config.smtp.host}:${gw.smtpPort}`, api: gw.apiPort && `http://${config.api.host}:${gw.apiPort}`, dataDir: config.dataDir },
    'mes-gateway started',
  );
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping');
    const force = setTimeout(() => process.exit(1), 30_000);
    force.unref();
    gw.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
} catch (err) {
  logger.fatal({ err: (err as Error).message }, 'start-up failed');
  console.error(`mes-gateway: ${(err as Error).message}`);
  process.exit(1);
}
