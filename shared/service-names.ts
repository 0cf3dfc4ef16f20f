import type { Source } from './eventlog/catalogue.js';

/** The services of a node, in the order they are listed everywhere. */
export const SERVICE_NAMES = ['vrrp', 'fence', 'health', 'ipvs', 'relay'] as const satisfies readonly Exclude<Source, 'cli'>[];
export type ServiceName = (typeof SERVICE_NAMES)[number];
