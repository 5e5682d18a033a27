/** The public API of the data plane (see README.md: owns the gateway port, tunnels and relay; imports only kernel/). */
export { DataPlane, type DataPlaneOptions, type ImportAddress } from './dataplane';
export { runDataPlane, type DataPlaneProcess, type RunDataPlaneOptions } from './main';
export * from './errors';
export { DataPlaneMetrics } from './metrics';
export { DEFAULT_LIMITS, type DataPlaneLimits } from './limits';
export { issueToken, verifyToken, TOKEN_LIFETIME_MS } from './token';
export { TunnelConnector, type OpenedTunnel, type TunnelProtocol } from './client/connector';
export { healthz as http1Healthz } from './client/http1-client';
export { ClientTls, connectTls } from './client/client-tls';
export * as protocol from './protocol';
