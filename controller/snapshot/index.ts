export * from './builder';
export * from './client';
export * from './publisher';
export * from './server';
export * from './wire';
