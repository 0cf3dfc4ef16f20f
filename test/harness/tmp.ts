export * from '../../lab/tmp.js';
