export * from './types';
export { GatewayHealth, peerHealth } from './state';
export type { PeerSummary } from './state';
export { classifyProbeError, classifyHttpStatus, formatAddress } from './classify';
export { HttpsProber, checkPeerIdentity } from './probe';
export type { Prober, TlsMaterial, HttpsProberOptions } from './probe';
export { HeartbeatMonitor, systemClock } from './monitor';
export type { Clock, HeartbeatMonitorOptions, HeartbeatMonitorEvents } from './monitor';
export { PeerIdentityError, ProbeTimeoutError, ProbeAbortedError } from './errors';
