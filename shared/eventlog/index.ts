export * from './catalogue.js';
export { EventLog, LogError, type ConsumerCursor, type OpenOptions } from './log.js';
export { EventRefused, validateNewEvent } from './validate.js';
export { type EventFilter, eventMatches } from './query.js';
export { summarize } from './summary.js';
export { subscribe, consume, type Subscription, type BatchHandler } from './subscribe.js';
export { followLog, replayLog, type FollowOptions } from './follow.js';
export { verifyLog, type VerifyResult } from './verify.js';
export * from './subjects.js';
