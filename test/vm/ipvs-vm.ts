// Runs a command as root inside a throw-away QEMU virtual machine that boots Debian's
// stock kernel (which has IPVS, unlike the kernels of our CI machines). No disk image:
// the host's / is shared read-only over virtio-9p with a tmpfs overlay on top, so the
// guest sees this checkout, node and ipvsadm, and every write vanishes with it. The guest
// has no network device, only lo.
//
//   tsx test/vm/ipvs-vm.ts build                 fetch the kernel package and build the boot files (setup does it)
//   tsx test/vm/ipvs-vm.ts run -- CMD ARG...     run CMD in the guest; exit with its status
//
// The image (kernel, modules, a busybox initramfs) is built once into $VIGIL_VM_CACHE
// (default /var/cache/vigil-vm) from the Debian packages linux-image-amd64 (downloaded
// with apt-get, never installed) and busybox-static.
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { forgetDir, forgetProcess, recordDir, recordProcess } from '../harness/state.js';

export const CACHE = process.env.VIGIL_VM_CACHE ?? (process.getuid?.() === 0 ? '/var/cache/vigil-vm' : join(homedir(), '.cache', 'vigil-vm'));
/** Bump when the image recipe changes: a cache of an older recipe is rebuilt. */
const RECIPE = 3;
const INITRD_MODULES = ['virtio_pci', '9pnet_virtio', '9p', 'overlay'];
const GUEST_MODULES = ['ip_vs', 'ip_vs_rr', 'ip_vs_wrr', 'ip_vs_wlc', 'ip_vs_lc', 'ip_vs_sh', 'ip_vs_dh', 'ip_vs_sed', 'ip_vs_nq', 'ip_vs_lblc', 'ip_vs_lblcr', 'ip_vs_mh', 'ip_vs_fo', 'ip_vs_ovf'];

export interface VmImage {
  kver: string;
  kernel: string;
  initrd: string;
  modules: string;
}

const sh = (cmd: string, args: string[], cwd?: string) => execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });

/** The versioned kernel package behind linux-image-amd64 (e.g. linux-image-6.1.0-41-amd64). */
function kernelPackage(): string {
  const depends = () => sh('apt-cache', ['depends', 'linux-image-amd64']);
  let out = depends();
  if (!/Depends: linux-image-\d/.test(out)) {
    sh('apt-get', ['update', '-qq']);
    out = depends();
  }
  const m = /Depends: (linux-image-\d\S*)/.exec(out);
  if (!m) throw new Error('cannot find the kernel package behind linux-image-amd64 (apt-cache depends)');
  return m[1]!;
}

const imageOf = (dir: string, kver: string): VmImage => ({
  kver,
  kernel: join(dir, 'root', 'boot', `vmlinuz-${kver}`),
  initrd: join(dir, 'initrd.cpio'),
  modules: join(dir, 'root', 'lib', 'modules', kver),
});

/** The image, built first if the cache has none (built aside and renamed into place, so concurrent builders do not collide). */
export function ensureImage(): VmImage {
  const current = join(CACHE, `current.${RECIPE}`);
  if (existsSync(current)) {
    const kver = readFileSync(current, 'utf8').trim();
    const img = imageOf(join(CACHE, kver), kver);
    if (existsSync(img.kernel) && existsSync(img.initrd)) return img;
  }
  mkdirSync(CACHE, { recursive: true });
  const pkg = kernelPackage();
  const kver = pkg.slice('linux-image-'.length);
  const work = mkdtempSync(join(CACHE, 'build-'));
  try {
    process.stderr.write(`ipvs-vm: building an image from ${pkg} in ${CACHE}\n`);
    const dl = join(work, 'dl');
    mkdirSync(dl);
    try {
      execFileSync('chown', ['_apt', dl], { stdio: 'ignore' }); // else apt warns that it downloads unsandboxed
    } catch {
      // not root, or no _apt user: apt only warns
    }
    try {
      sh('apt-get', ['download', '-qq', pkg], dl);
    } catch {
      sh('apt-get', ['update', '-qq']);
      sh('apt-get', ['download', '-qq', pkg], dl);
    }
    const root = join(work, 'root');
    sh('dpkg', ['-x', join(dl, readdirSync(dl).find((f) => f.endsWith('.deb'))!), root]);
    rmSync(dl, { recursive: true });
    const modules = join(root, 'lib', 'modules', kver);
    // busybox's insmod reads plain .ko only (Debian 12 ships plain ones; later releases compress).
    sh('find', [modules, '-name', '*.ko.xz', '-exec', 'xz', '-d', '{}', '+']);
    sh('find', [modules, '-name', '*.ko.zst', '-exec', 'zstd', '-qd', '--rm', '{}', '+']);
    sh('depmod', ['-b', root, kver]);
    buildInitrd(work, root, kver);
    const final = join(CACHE, kver);
    rmSync(final, { recursive: true, force: true });
    renameSync(work, final);
    writeFileSync(current, kver + '\n');
    return imageOf(final, kver);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

function buildInitrd(work: string, root: string, kver: string): void {
  const dir = join(work, 'initrd');
  mkdirSync(join(dir, 'bin'), { recursive: true });
  mkdirSync(join(dir, 'mods'));
  copyFileSync('/bin/busybox', join(dir, 'bin', 'busybox'));
  const order: string[] = [];
  for (const m of INITRD_MODULES) {
    // "insmod /path/x.ko" lines, dependencies first; built-in modules print "builtin x".
    for (const line of sh('modprobe', ['-d', root, '-S', kver, '--show-depends', m]).split('\n')) {
      const file = /^insmod (\S+)/.exec(line)?.[1];
      if (!file) continue;
      const name = file.slice(file.lastIndexOf('/') + 1);
      if (order.includes(name)) continue;
      copyFileSync(file, join(dir, 'mods', name));
      order.push(name);
    }
  }
  writeFileSync(join(dir, 'mods', 'order'), order.join('\n') + '\n');
  writeFileSync(join(dir, 'init'), INIT);
  chmodSync(join(dir, 'init'), 0o755);
  execFileSync('sh', ['-c', `find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0 > ${JSON.stringify(join(work, 'initrd.cpio'))}`], { cwd: dir, stdio: 'inherit' });
  rmSync(dir, { recursive: true });
}

// PID 1 of the guest: mount the host's / read-only with a tmpfs overlay, chroot into it,
// run the job written in the "job" share, leave its status there, power off.
const INIT = `#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mkdir -p /proc /sys /dev /host /rw /root /job
mount -t proc proc /proc; mount -t sysfs sysfs /sys; mount -t devtmpfs devtmpfs /dev
die() { echo "vm-init: $*" > /dev/console; poweroff -f; }
for m in $(cat /mods/order); do insmod /mods/$m || die "insmod $m"; done
o=trans=virtio,version=9p2000.L,msize=512000
mount -t 9p -o $o job /job || die "mount job"
mount -t 9p -o $o,ro,cache=loose host /host || die "mount host"
mount -t tmpfs -o mode=755 tmpfs /rw; mkdir -p /rw/upper /rw/work
mount -t overlay -o lowerdir=/host,upperdir=/rw/upper,workdir=/rw/work overlay /root || die "overlay"
for d in proc sys dev; do mount --bind /$d /root/$d; done
mkdir -p /root/dev/pts /root/dev/shm; mount -t devpts devpts /root/dev/pts; mount -t tmpfs tmpfs /root/dev/shm
mount -t tmpfs tmpfs /root/run; mkdir -p /root/run/job; mount --bind /job /root/run/job
. /job/env
mkdir -p /root/lib/modules/$KVER; mount --bind /host$MODULES /root/lib/modules/$KVER || die "modules"
printf '#!/bin/busybox sh\\nexec chroot /root /sbin/modprobe "$@"\\n' > /bin/modprobe-root; chmod +x /bin/modprobe-root
echo /bin/modprobe-root > /proc/sys/kernel/modprobe
hostname vigil-vm; ip link set lo up
chroot /root /bin/sh /run/job/job < /dev/null > /dev/console 2>&1
echo $? > /job/status.tmp; mv /job/status.tmp /job/status
sync; poweroff -f
`;

export interface VmResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface VmOptions {
  /** Working directory in the guest (default: this process's). */
  cwd?: string;
  env?: Record<string, string>;
  timeoutMs?: number;
  memoryMiB?: number;
  /** Called with the guest command's output as it comes. */
  onStdout?: (text: string) => void;
  onStderr?: (text: string) => void;
}

/** Variables named VIGIL_* or BENCH_* go into the guest (everything else is reset). */
const passed = () => Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => /^(VIGIL|BENCH)_/.test(e[0]) && e[1] !== undefined));

const quote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;

/** Boots a VM, runs argv as root in it, resolves with its exit status and output. */
export async function runInVm(argv: readonly string[], o: VmOptions = {}): Promise<VmResult> {
  const img = ensureImage();
  mkdirSync(join(CACHE, 'run'), { recursive: true });
  const job = mkdtempSync(join(CACHE, 'run', 'job-'));
  // Written down for `npm run test:clean`, should this process be killed mid-run.
  const dirRegistry = recordDir(job);
  try {
    writeFileSync(join(job, 'env'), `KVER=${quote(img.kver)}\nMODULES=${quote(img.modules)}\n`);
    const env = { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', HOME: '/root', LANG: 'C.UTF-8', ...passed(), ...o.env };
    writeFileSync(join(job, 'job'), [
      ...Object.entries(env).map(([k, v]) => `export ${k}=${quote(v)}`),
      `modprobe -a ${GUEST_MODULES.join(' ')} 2>> /run/job/stderr`,
      `cd ${quote(o.cwd ?? process.cwd())} 2>> /run/job/stderr || exit 125`,
      `${argv.map(quote).join(' ')} < /dev/null >> /run/job/stdout 2>> /run/job/stderr`,
    ].join('\n') + '\n');
    for (const f of ['stdout', 'stderr', 'console']) writeFileSync(join(job, f), '');
    const qemu = [
      '-nodefaults', '-no-user-config', '-display', 'none', '-no-reboot', '-machine', 'q35', '-accel', 'tcg', '-cpu', 'max',
      '-m', String(o.memoryMiB ?? 1024), '-smp', '1', '-nic', 'none',
      '-kernel', img.kernel, '-initrd', img.initrd,
      '-append', 'console=ttyS0 panic=-1 quiet loglevel=1 mitigations=off audit=0 apparmor=0 tsc=reliable no_timer_check cryptomgr.notests rdinit=/init',
      '-fsdev', 'local,id=host,path=/,security_model=none,readonly=on,multidevs=remap', '-device', 'virtio-9p-pci,fsdev=host,mount_tag=host',
      '-fsdev', `local,id=job,path=${job},security_model=none`, '-device', 'virtio-9p-pci,fsdev=job,mount_tag=job',
      '-serial', `file:${join(job, 'console')}`,
    ];
    const timeoutMs = o.timeoutMs ?? 600_000;
    // At the lowest CPU priority: the emulated CPU takes a whole core, and tests running
    // beside it (the fence's 2 ms observer) must not wait for it.
    const vm = spawn('nice', ['-n', '19', 'qemu-system-x86_64', ...qemu], { stdio: ['ignore', 'ignore', 'pipe'] });
    const pidRegistry = vm.pid !== undefined ? recordProcess(vm.pid, ['qemu-system-x86_64', ...qemu]) : undefined;
    let qemuErr = '';
    vm.stderr.on('data', (b: Buffer) => (qemuErr += b.toString()));
    const followers = [follow(join(job, 'stdout'), o.onStdout), follow(join(job, 'stderr'), o.onStderr)];
    const timer = setTimeout(() => vm.kill('SIGKILL'), timeoutMs);
    const killOnExit = () => vm.kill('SIGKILL');
    process.once('exit', killOnExit);
    await new Promise<void>((resolve) => vm.once('exit', () => resolve()));
    clearTimeout(timer);
    process.off('exit', killOnExit);
    if (pidRegistry) forgetProcess(vm.pid!, pidRegistry);
    for (const f of followers) f.stop();
    const stdout = readFileSync(join(job, 'stdout'), 'utf8');
    const stderr = readFileSync(join(job, 'stderr'), 'utf8');
    if (!existsSync(join(job, 'status'))) {
      const consoleTail = readFileSync(join(job, 'console'), 'utf8').split('\n').slice(-30).join('\n');
      throw new Error(`the VM ended without the command's status (timeout ${timeoutMs} ms?)\nqemu: ${qemuErr}\nconsole:\n${consoleTail}\nstderr:\n${stderr.slice(-4000)}`);
    }
    return { code: Number(readFileSync(join(job, 'status'), 'utf8')), stdout, stderr };
  } finally {
    rmSync(job, { recursive: true, force: true });
    forgetDir(job, dirRegistry);
  }
}

/** Passes what is appended to a file to f, every 100 ms, and once more at stop. */
function follow(file: string, f: ((text: string) => void) | undefined): { stop: () => void } {
  if (!f) return { stop: () => {} };
  let offset = 0;
  const read = () => {
    const buf = readFileSync(file);
    if (buf.length > offset) f(buf.subarray(offset).toString());
    offset = buf.length;
  };
  const timer = setInterval(read, 100);
  return { stop: () => (clearInterval(timer), read()) };
}

async function main(args: string[]): Promise<number> {
  const [verb, ...rest] = args;
  if (verb === 'build') {
    const img = ensureImage();
    process.stdout.write(`ipvs-vm: image for ${img.kver} ready in ${CACHE}\n`);
    return 0;
  }
  if (verb === 'run') {
    const argv = rest[0] === '--' ? rest.slice(1) : rest;
    if (argv.length === 0) throw new Error('usage: ipvs-vm.ts run -- CMD [ARG...]');
    const r = await runInVm(argv, { onStdout: (t) => process.stdout.write(t), onStderr: (t) => process.stderr.write(t) });
    return r.code;
  }
  process.stderr.write('usage: ipvs-vm.ts build | run -- CMD [ARG...]\n');
  return 2;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main(process.argv.slice(2)).then((code) => (process.exitCode = code), (err: unknown) => {
    process.stderr.write(`ipvs-vm: ${(err as Error).message}\n`);
    process.exitCode = 125;
  });
}
