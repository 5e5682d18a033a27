/**
 * The one logger of the project. Level comes from CL_LOG_LEVEL (the former CLUSTERLINK_LOG_LEVEL
 * is still read, with a deprecation warning; default `info`; jest runs default to `silent`). Fields are structured (`peer`, `import`, `export`, `decision`, ...); key
 * material and tokens are redacted wherever they appear under the usual names.
 */
import pino, { type Logger } from 'pino';
import { DEPRECATED_LOG_LEVEL_ENV, LOG_LEVEL_ENV, isLogLevel } from './api/conventions';

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

let deprecationWarned = false;

/**
 * The log level the environment asks for: CL_LOG_LEVEL, else CLUSTERLINK_LOG_LEVEL with a
 * deprecation warning (once per process). Not checked: callers say what is wrong with it.
 */
export function logLevelFromEnvironment(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env[LOG_LEVEL_ENV]) return env[LOG_LEVEL_ENV];
  const deprecated = env[DEPRECATED_LOG_LEVEL_ENV] || undefined;
  if (deprecated !== undefined && !deprecationWarned) {
    deprecationWarned = true;
    process.emitWarning(`${DEPRECATED_LOG_LEVEL_ENV} is deprecated: set ${LOG_LEVEL_ENV} instead`, {
      type: 'DeprecationWarning',
      code: 'CL_DEP_LOG_LEVEL_ENV',
    });
  }
  return deprecated;
}

function defaultLevel(): string {
  // An unknown level is left to the command that reads the same variable to report; the root
  // logger, created at import, must not throw for it.
  const level = logLevelFromEnvironment();
  if (level !== undefined && isLogLevel(level)) return level;
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
