// Reading a node's event log as an operator tool would, from a test.
export { readEvents } from '../../lab/cluster.js';
