// The vigil command (cli/main.ts loads this after making SIGHUP harmless). Each verb's
// module is loaded when it runs: vigil --help and --version load none, and a service
// only its own code.
import { ignoreHangup } from './hangup.js';
import { packageVersion } from '../shared/paths.js';
import { UsageError } from '../shared/errors.js';
import type { Io } from './common.js';
import * as u from './usage.js';

const usage = `vigil — highly available VIPs and IPVS with fencing and an event log
(vigil --version; vigil COMMAND --help for one command)

${[u.demoUsage, u.runUsage, u.logUsage, u.postmortemUsage, u.statusUsage, u.reloadUsage, u.zkUsage, u.healthUsage, u.alertsUsage, u.configUsage, u.importUsage].join('\n\n')}
`;

type Verb = (argv: string[], io: Io, stop: AbortSignal) => number | Promise<number>;
const verbs: Record<string, () => Promise<Verb>> = {
  run: async () => (await import('./commands/run.js')).runCommand,
  log: async () => (await import('./commands/log.js')).logCommand,
  config: async () => (await import('./commands/config.js')).configCommand,
  import: async () => (await import('./commands/import.js')).importCommand,
  status: async () => (await import('./commands/status.js')).statusCommand,
  reload: async () => (await import('./commands/reload.js')).reloadCommand,
  zk: async () => (await import('./commands/zk.js')).zkCommand,
  health: async () => (await import('./commands/health.js')).healthCommand,
  postmortem: async () => (await import('./commands/postmortem.js')).postmortemCommand,
  alerts: async () => (await import('./commands/alerts.js')).alertsCommand,
  demo: async () => (await import('./commands/demo.js')).demoCommand,
};

/** How an error that ends a command is told (the error classes are loaded only when one happens). */
async function explain(err: unknown, io: Io): Promise<number | undefined> {
  const [{ ConfigError }, { NodeSelectionError }, { EventRefused, LogError }, { ServiceStartRefused }] = await Promise.all([
    import('../shared/config/index.js'), import('../shared/config/node.js'), import('../shared/eventlog/index.js'), import('../shared/service.js'),
  ]);
  if (err instanceof ConfigError) {
    io.err(`${err.message}\nvigil: ${err.issues.length} problem${err.issues.length === 1 ? '' : 's'} in the configuration\n`);
    return 2;
  }
  if (err instanceof ServiceStartRefused) {
    io.err(`${err.message}\n`);
    return err.exitCode;
  }
  if (err instanceof NodeSelectionError || err instanceof LogError || err instanceof EventRefused) {
    io.err(`vigil: ${err.message}\n`);
    return 2;
  }
  return undefined;
}

export async function main(argv: string[], io: Io, stop: AbortSignal): Promise<number> {
  const [verb, ...rest] = argv;
  try {
    switch (verb) {
      case '--version':
      case '-V':
      case 'version':
        io.out(`vigil ${packageVersion()} (node ${process.version})\n`);
        return 0;
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        io.out(usage);
        return verb === undefined ? 2 : 0;
    }
    const load = Object.hasOwn(verbs, verb) ? verbs[verb] : undefined;
    if (!load) throw new UsageError(`unknown command "${verb}" (try: vigil help)`);
    return await (await load())(rest, io, stop);
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`vigil: ${err.message}\n`);
      return 2;
    }
    const code = await explain(err, io);
    if (code !== undefined) return code;
    throw err;
  }
}

// Only the services treat SIGHUP (keepalived's reload) themselves; any other command ends on it as usual.
if (process.argv[2] !== 'run') process.removeListener('SIGHUP', ignoreHangup);

const controller = new AbortController();
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => controller.abort(sig));
// Output piped into `head` must end quietly, not with EPIPE.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
});
const io: Io = {
  out: (t) => void process.stdout.write(t),
  err: (t) => void process.stderr.write(t),
  drain: () => (process.stdout.writableNeedDrain ? new Promise((resolve) => process.stdout.once('drain', resolve)) : undefined),
};
main(process.argv.slice(2), io, controller.signal).then(
  (code) => {
    process.exitCode = code;
    // Stopped by a signal: output still queued for a reader that does not read must not
    // keep the process alive.
    if (controller.signal.aborted) process.exit(code);
  },
  (err: unknown) => {
    process.stderr.write(`vigil: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 70;
  },
);
