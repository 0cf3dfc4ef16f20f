// The subjects (entities) events speak about. Each kind has one builder and one parser,
// and the catalogue names the kind of every event type's subject: services, the CLI and
// the relay build and read subjects only through these, so an entity is named one way.

export interface SubjectKind {
  readonly prefix: string;
  /** What a whole subject of this kind looks like (checked when an event is appended). */
  readonly pattern: RegExp;
  /** The subject of the entity with this identity. */
  of(id: string): string;
  /** The identity in a subject of this kind; undefined for any other subject. */
  idOf(subject: string): string | undefined;
}

function kind(prefix: string, id = '[^\\s]+'): SubjectKind {
  const head = `${prefix}:`;
  return {
    prefix,
    pattern: new RegExp(`^${head}${id}$`),
    of: (value) => `${head}${value}`,
    idOf: (subject) => (subject.startsWith(head) ? subject.slice(head.length) : undefined),
  };
}

export const SUBJECTS = {
  operator: kind('operator'),
  service: kind('service', '[a-z]+'),
  node: kind('node'),
  vrrp: kind('vrrp'),
  vrrpGroup: kind('vrrp_group'),
  vip: kind('vip'),
  realServer: kind('rs'),
  track: kind('track'),
  virtualServer: kind('vs'),
  relay: kind('relay'),
  alert: kind('alert', '[a-z_]+'),
  notify: kind('notify'),
} as const;

/** "rs:<virtual server>/<ip>:<port>": one real server of one virtual server. */
export const realServerSubject = (vs: string, target: string) => SUBJECTS.realServer.of(`${vs}/${target}`);
export const trackSubject = (name: string) => SUBJECTS.track.of(name);
export const virtualServerSubject = (vs: string) => SUBJECTS.virtualServer.of(vs);
/** Changes to IPVS services the configuration does not have (vigil owns the whole table). */
export const UNCONFIGURED_VIRTUAL_SERVER = virtualServerSubject('unconfigured');
export const vipGroupSubject = (group: string) => SUBJECTS.vip.of(group);
export const nodeSubject = (node: string) => SUBJECTS.node.of(node);
export const serviceSubject = (service: string) => SUBJECTS.service.of(service);
export const vrrpSubject = (instance: string) => SUBJECTS.vrrp.of(instance);
export const vrrpGroupSubject = (group: string) => SUBJECTS.vrrpGroup.of(group);
/** An operator's note: who wrote it (blanks become "_"). */
export const operatorSubject = (who: string) => SUBJECTS.operator.of(who.replace(/\s+/g, '_'));
/** The relay of a node (its delivery failures). */
export const relaySubject = (node: string) => SUBJECTS.relay.of(node);
/** A kind of alert (its occurrences are told apart by their id). */
export const alertKindSubject = (kind: string) => SUBJECTS.alert.of(kind);
/** The notify scripts of one key (an instance, a sync group, a real server, a virtual server). */
export const notifySubject = (key: string) => SUBJECTS.notify.of(key);

/** The name of a real server's check in health.changed: its type and its place in the list ("HTTP_GET#0"). */
export const checkName = (type: string, index: number) => `${type}#${index}`;
