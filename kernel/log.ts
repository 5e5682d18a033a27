/**
 * The one logger of the project. Level comes from CLUSTERLINK_LOG_LEVEL (default `info`; jest runs
 * default to `silent`). Fields are structured (`peer`, `import`, `export`, `decision`, ...); key
 * material and tokens are redacted wherever they appear under the usual names.
 */
import pino, { type Logger } from 'pino';

export type { Logger };

const REDACT = [
  'key',
  'tokenKey',
  'token',
  'authorization',
  '*.key',
  '*.tokenKey',
  '*.token',
  '*.authorization',
  'tls.key',
  'headers.authorization',
  'headers["x-access-token"]',
];

function defaultLevel(): string {
  if (process.env.CLUSTERLINK_LOG_LEVEL) return process.env.CLUSTERLINK_LOG_LEVEL;
  if (process.env.JEST_WORKER_ID !== undefined) return 'silent';
  return 'info';
}

export function createLogger(
  options: { level?: string; name?: string; destination?: pino.DestinationStream } = {},
): Logger {
  const opts: pino.LoggerOptions = {
    level: options.level ?? defaultLevel(),
    redact: { paths: REDACT, censor: '[redacted]' },
    base: options.name ? { component: options.name } : undefined,
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return options.destination ? pino(opts, options.destination) : pino(opts);
}

/** Process-wide root logger; components take `rootLogger.child({ component })`. */
export const rootLogger: Logger = createLogger();
