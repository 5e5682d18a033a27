/** The default PeerMonitor: controller/health's HeartbeatMonitor (GET /healthz over mTLS). */
import { HeartbeatMonitor, type HealthPolicy } from './health';
import type { PeerMonitorFactory } from './peer-monitor';

export function heartbeatPeerMonitor(
  options: { policy?: Partial<HealthPolicy>; timeoutMs?: number } = {},
): PeerMonitorFactory {
  return ({ tls, logger, onChange }) => {
    const monitor = new HeartbeatMonitor({
      tls,
      logger,
      policy: options.policy,
      timeoutMs: options.timeoutMs,
    });
    monitor.on('change', (health) => onChange(health.peer));
    return {
      setPeers: (peers) => monitor.update(peers),
      verdict: (peer) => monitor.status(peer),
      close: () => monitor.close(),
    };
  };
}
