// The base images of the Docker test, made from Debian's packages and this machine's Node 20
// (no image registry is reachable here): a Debian 12 root filesystem made with debootstrap,
// with the machine's nodejs package copied in, saved as two tarballs for `docker import`:
//
//   runtime  what vigil's image runs on (as the official node:20-bookworm-slim): Node 20,
//            iproute2, nftables, ipvsadm, iputils-ping
//   build    runtime + python3, make, g++ (vigil's addons), zookeeper and nats-server (the
//            test's coordination containers), as node:20-bookworm would be for the build stage
//
//   tsx test/docker/base.ts build      make them once into $VIGIL_DOCKER_CACHE (setup does it)
//
// (/var/cache/vigil-docker by default); built aside and renamed into place. Imported with
// NODE_EXTRA_CA_CERTS set to the system's bundle (IMPORT_CHANGES), which holds the
// certificate authorities this machine trusts beyond Debian's.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { unmountUnder } from '../../lab/disk.js';

export const CACHE = process.env.VIGIL_DOCKER_CACHE ?? (process.getuid?.() === 0 ? '/var/cache/vigil-docker' : join(homedir(), '.cache', 'vigil-docker'));
/** Bump when the recipe changes: a cache of an older recipe is rebuilt. */
const RECIPE = 3;
const RUNTIME_PACKAGES = ['ca-certificates', 'iproute2', 'nftables', 'ipvsadm', 'iputils-ping', 'procps', 'libstdc++6'];
const BUILD_PACKAGES = ['python3', 'make', 'g++', 'libnftables-dev', 'zookeeper', 'default-jre-headless', 'netcat-openbsd', 'nats-server'];

/** `docker import --change` lines for both tarballs: Node trusts the system's certificate bundle. */
export const IMPORT_CHANGES = ['ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt', 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'];

export interface BaseImages {
  runtime: string;
  build: string;
}

export function baseTarballs(): BaseImages {
  const dir = join(CACHE, `recipe-${RECIPE}`);
  return { runtime: join(dir, 'runtime.tar'), build: join(dir, 'build.tar') };
}

const run = (cmd: string, args: string[], env?: NodeJS.ProcessEnv) => execFileSync(cmd, args, { stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, ...env } });

/** The Debian mirror this machine's apt uses (its deb822 sources), else deb.debian.org. */
function mirror(): string {
  try {
    const m = /^URIs:\s*(\S+\/debian)\s*$/m.exec(readFileSync('/etc/apt/sources.list.d/debian.sources', 'utf8'));
    if (m) return m[1]!;
  } catch {
    // the classic sources.list, or none: the default mirror
  }
  return 'http://deb.debian.org/debian';
}

/**
 * The machine's Node 20: node, npm and npx, and the headers node-gyp builds against (the
 * nodejs package's paths; npm itself may have been upgraded in place since, so folders are
 * copied whole rather than the package's file list).
 */
const NODE_PATHS = ['usr/bin/node', 'usr/bin/npm', 'usr/bin/npx', 'usr/bin/corepack', 'usr/lib/node_modules', 'usr/include/node'];

function nodePaths(): string[] {
  const version = execFileSync('node', ['--version'], { encoding: 'utf8' }).trim();
  if (!version.startsWith('v20.')) throw new Error(`the base image needs Node 20; this machine has ${version}`);
  return NODE_PATHS.filter((p) => existsSync(`/${p}`));
}

export function ensureBaseTarballs(): BaseImages {
  const out = baseTarballs();
  if (existsSync(out.runtime) && existsSync(out.build)) return out;
  mkdirSync(CACHE, { recursive: true });
  for (const stale of readdirSync(CACHE).filter((f) => f.startsWith('build-') || f.startsWith('recipe-'))) {
    unmountUnder(join(CACHE, stale)); // an interrupted build's, or an older recipe's
    rmSync(join(CACHE, stale), { recursive: true, force: true });
  }
  const work = mkdtempSync(join(CACHE, 'build-'));
  const root = join(work, 'rootfs');
  const started = Date.now();
  try {
    process.stderr.write(`docker-base: debootstrap bookworm into ${root}\n`);
    run('debootstrap', ['--variant=minbase', `--include=${RUNTIME_PACKAGES.join(',')}`, 'bookworm', root, mirror()]);
    execFileSync('sh', ['-c', `tar -C / -cf - ${nodePaths().join(' ')} | tar -C "${root}" -xf -`], { stdio: 'inherit' });
    run('chroot', [root, 'node', '--version']);
    // The certificate authorities this machine adds to Debian's (a TLS-inspecting egress
    // proxy's, say): without them npm in the image cannot reach the registry this machine reaches.
    execFileSync('sh', ['-c', `cp /usr/local/share/ca-certificates/*.crt "${root}/usr/local/share/ca-certificates/" 2>/dev/null || true`]);
    run('chroot', [root, 'update-ca-certificates']);
    const clean = () => run('chroot', [root, 'sh', '-c', 'apt-get clean && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /tmp/*']);
    clean();
    const dir = join(CACHE, `recipe-${RECIPE}`);
    mkdirSync(dir, { recursive: true });
    run('tar', ['-C', root, '--numeric-owner', '-cf', `${out.runtime}.part`, '.']);
    process.stderr.write('docker-base: adding the build and coordination packages\n');
    run('mount', ['-t', 'proc', 'proc', join(root, 'proc')]);
    try {
      run('chroot', [root, 'sh', '-c', `apt-get update -q && apt-get install -y -q --no-install-recommends ${BUILD_PACKAGES.join(' ')}`], { DEBIAN_FRONTEND: 'noninteractive' });
      clean();
    } finally {
      run('umount', [join(root, 'proc')]);
    }
    run('tar', ['-C', root, '--numeric-owner', '-cf', `${out.build}.part`, '.']);
    renameSync(`${out.runtime}.part`, out.runtime);
    renameSync(`${out.build}.part`, out.build);
    process.stderr.write(`docker-base: ready in ${dir} (${Math.round((Date.now() - started) / 1000)} s)\n`);
    return out;
  } finally {
    unmountUnder(work); // never remove through a mounted /proc
    rmSync(work, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  if (process.argv[2] !== 'build') {
    process.stderr.write('usage: tsx test/docker/base.ts build\n');
    process.exit(2);
  }
  ensureBaseTarballs();
}
