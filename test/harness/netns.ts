export * from '../../lab/netns.js';
