import type { Logger } from '../../controller/log';
import type { CompiledConfig } from '../config';
import type { DataPlaneLimits } from '../limits';
import type { DataPlaneMetrics } from '../metrics';
import type { TunnelTracker } from '../tunnels';

/** What the gateway-port handlers need from the data plane that owns them. */
export interface GatewayContext {
  /** The snapshot in effect, or undefined before the first one. */
  config(): CompiledConfig | undefined;
  readonly limits: DataPlaneLimits;
  readonly tunnels: TunnelTracker;
  readonly metrics: DataPlaneMetrics;
  readonly logger: Logger;
  /** Clock for token issue and expiry (injectable for tests). */
  now(): number;
}
