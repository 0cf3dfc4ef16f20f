/** A mistake in how a command was called: printed with usage hints, exit status 2. */
export class UsageError extends Error {}
