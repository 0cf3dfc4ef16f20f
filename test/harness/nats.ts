export * from '../../lab/nats.js';
