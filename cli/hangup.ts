/** Installed by main.ts before anything else loads, so that a SIGHUP during start-up cannot kill a service. */
export const ignoreHangup = (): void => {};
