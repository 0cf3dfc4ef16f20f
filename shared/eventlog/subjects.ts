// The subjects (entities) events speak about, built in one place so that every service
// and the CLI name an entity the same way.
export const realServerSubject = (vs: string, target: string) => `rs:${vs}/${target}`;
export const trackSubject = (name: string) => `track:${name}`;
export const virtualServerSubject = (vs: string) => `vs:${vs}`;
export const vipGroupSubject = (group: string) => `vip:${group}`;
export const nodeSubject = (node: string) => `node:${node}`;
export const serviceSubject = (service: string) => `service:${service}`;
/** The name of a real server's check in health.changed: its type and its place in the list ("HTTP_GET#0"). */
export const checkName = (type: string, index: number) => `${type}#${index}`;
export const vrrpSubject = (instance: string) => `vrrp:${instance}`;
export const vrrpGroupSubject = (group: string) => `vrrp_group:${group}`;
