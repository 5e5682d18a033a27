export * from './elector';
export * from './lease';
