// The vigil command (cli/main.ts loads this after making SIGHUP harmless).
import { ConfigError } from '../shared/config/index.js';
import { NodeSelectionError } from '../shared/config/node.js';
import { EventRefused, LogError } from '../shared/eventlog/index.js';
import { ignoreHangup } from './hangup.js';
import { packageVersion } from '../shared/paths.js';
import { ServiceStartRefused } from '../shared/service.js';
import { UsageError, type Io } from './common.js';
import { alertsCommand, alertsUsage } from './commands/alerts.js';
import { configCommand, configUsage } from './commands/config.js';
import { demoCommand, demoUsage } from './commands/demo.js';
import { healthCommand, healthUsage } from './commands/health.js';
import { importCommand, importUsage } from './commands/import.js';
import { logCommand, logUsage } from './commands/log.js';
import { postmortemCommand, postmortemUsage } from './commands/postmortem.js';
import { reloadCommand, reloadUsage } from './commands/reload.js';
import { runCommand, runUsage } from './commands/run.js';
import { statusCommand, statusUsage } from './commands/status.js';
import { zkCommand, zkUsage } from './commands/zk.js';

const usage = `vigil — highly available VIPs and IPVS with fencing and an event log
(vigil --version; vigil COMMAND --help for one command)

${demoUsage}

${runUsage}

${logUsage}

${postmortemUsage}

${statusUsage}

${reloadUsage}

${zkUsage}

${healthUsage}

${alertsUsage}

${configUsage}

${importUsage}
`;

export async function main(argv: string[], io: Io, stop: AbortSignal): Promise<number> {
  const [verb, ...rest] = argv;
  try {
    switch (verb) {
      case 'run':
        return await runCommand(rest, io, stop);
      case 'log':
        return await logCommand(rest, io, stop);
      case 'config':
        return configCommand(rest, io);
      case 'import':
        return importCommand(rest, io);
      case 'status':
        return await statusCommand(rest, io, stop);
      case 'reload':
        return await reloadCommand(rest, io);
      case 'zk':
        return await zkCommand(rest, io);
      case 'health':
        return healthCommand(rest, io);
      case 'postmortem':
        return await postmortemCommand(rest, io);
      case 'alerts':
        return await alertsCommand(rest, io, stop);
      case 'demo':
        return await demoCommand(rest, io, stop);
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
      default:
        throw new UsageError(`unknown command "${verb}" (try: vigil help)`);
    }
  } catch (err) {
    if (err instanceof ConfigError) {
      io.err(`${err.message}\nvigil: ${err.issues.length} problem${err.issues.length === 1 ? '' : 's'} in the configuration\n`);
      return 2;
    }
    if (err instanceof ServiceStartRefused) {
      io.err(`${err.message}\n`);
      return err.exitCode;
    }
    if (err instanceof UsageError || err instanceof NodeSelectionError || err instanceof LogError || err instanceof EventRefused) {
      io.err(`vigil: ${err.message}\n`);
      return 2;
    }
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
