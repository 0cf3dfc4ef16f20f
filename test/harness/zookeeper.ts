export * from '../../lab/zookeeper.js';
