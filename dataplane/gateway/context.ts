import type { Logger } from '../../kernel/log';
import type { CompiledConfig } from '../config';
import type { DataPlaneLimits } from '../limits';
import type { LogLimiter } from '../log-limiter';
import type { DataPlaneMetrics } from '../metrics';
import type { TokenReplayCache } from '../token-replay';
import type { TunnelTracker } from '../tunnels';

/** What the gateway-port handlers need from the data plane that owns them. */
export interface GatewayContext {
  /** The snapshot in effect, or undefined before the first one. */
  config(): CompiledConfig | undefined;
  readonly limits: DataPlaneLimits;
  readonly tunnels: TunnelTracker;
  readonly metrics: DataPlaneMetrics;
  readonly logger: Logger;
  /** Tokens accepted by this process: each opens one tunnel. */
  readonly usedTokens: TokenReplayCache;
  /** Keeps a peer that is refused over and over from flooding the log. */
  readonly refusalLog: LogLimiter;
  /** Clock for token issue and expiry, and for the refusal log limit (injectable for tests). */
  now(): number;
}
