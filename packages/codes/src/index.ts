export * from './jose-refusal.js';
export * from './reason-codes.js';
export * from './token-format.js';
