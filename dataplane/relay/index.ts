export {
  relay,
  startRelay,
  type RelayHandle,
  type RelayEnd,
  type RelayOptions,
  type RelayStats,
} from './relay';
export { resetStream, isHttp2Stream } from './reset';
