export { relay, type RelayEnd, type RelayOptions, type RelayStats } from './relay';
export { resetStream, isHttp2Stream } from './reset';
