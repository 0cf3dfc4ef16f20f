export * from '../../lab/ports.js';
