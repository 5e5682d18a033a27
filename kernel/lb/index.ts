export { LoadBalancer } from './order';
export type { LbScheme } from './order';
