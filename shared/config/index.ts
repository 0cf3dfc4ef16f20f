export * from './schema.js';
export { loadConfig, parseConfig, ConfigError, formatIssue, type ConfigIssue, type LoadedConfig } from './load.js';
export { instancesForNode, logPathForNode, nodeNames, realServerTarget, startsDown, virtualServices, type NodeInstance } from './resolve.js';
export { parseVipAddress, type VipAddress } from './vip.js';
