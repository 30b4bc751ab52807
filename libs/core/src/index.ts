export * from './error-handling/index.js';
