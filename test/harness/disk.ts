export * from '../../lab/disk.js';
