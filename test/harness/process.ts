export * from '../../lab/process.js';
