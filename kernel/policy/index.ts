export * from './types';
export { PolicyEngine, DEFAULT_DENY, CLIENT_ATTRIBUTE_PREFIX } from './engine';
export type { Decision, DecisionTier, InvalidPolicy, PolicyRef } from './engine';
