// NATS subjects of a cluster: every event under events.<node>.<type> (the type's own dot
// makes it two tokens: vigil.prod.events.lb1.vrrp.state_changed), alerts under
// alerts.<severity>.<kind>.
export const eventsWildcard = (cluster: string) => `vigil.${cluster}.events.>`;
export const nodeEventsWildcard = (cluster: string, node: string) => `vigil.${cluster}.events.${node}.>`;
export const eventSubject = (cluster: string, node: string, type: string) => `vigil.${cluster}.events.${node}.${type}`;
export const alertSubject = (cluster: string, severity: string, kind: string) => `vigil.${cluster}.alerts.${severity}.${kind}`;
