export * from '../../lab/state.js';
