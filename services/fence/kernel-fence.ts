// The kernel-enforced lease (kernel-rules.ts), applied in-process (native/nft_fence.c): the
// tables through libnftables, the live elements straight over nfnetlink. A live element's
// timeout is computed and committed in the same synchronous call, so nothing can run
// between the two and stretch it.
import { loadAddon } from '../../shared/native.js';
import { installScript, removeScript, replaceVipsScript } from './kernel-rules.js';

interface NftAddon {
  run(script: string): string;
  /** Replaces the addresses' elements of both tables' set live with a timeout (ms), in one transaction (add, delete, add); 0 withdraws them. */
  live(addresses: string[], timeoutMs: number): string;
}

export class KernelFenceError extends Error {}

export class KernelFence {
  private readonly nft = loadAddon<NftAddon>('nft_fence', ['run', 'live']);
  private installed = false;

  get ready(): boolean {
    return this.installed;
  }

  /** Both tables afresh, with these managed addresses and none live. */
  install(vips: readonly string[]): void {
    this.installed = false;
    this.apply(installScript(vips), 'cannot install the kernel fence (nftables tables vigil_fence)');
    this.installed = true;
  }

  setVips(vips: readonly string[]): void {
    this.apply(replaceVipsScript(vips), 'cannot update the kernel fence\'s addresses');
  }

  /**
   * The addresses answer until `until` (performance.now() time); 0 or less left withdraws
   * them. The timeout is taken from the clock here, right before the kernel commits it.
   */
  live(addresses: readonly string[], until: number): void {
    if (addresses.length === 0) return;
    const left = until - performance.now();
    if (left < 1) return this.withdraw(addresses);
    this.check(this.nft.live([...addresses], Math.floor(left)), 'cannot renew the kernel fence');
  }

  withdraw(addresses: readonly string[]): void {
    if (addresses.length > 0) this.check(this.nft.live([...addresses], 0), 'cannot withdraw addresses from the kernel fence');
  }

  remove(): void {
    this.installed = false;
    this.apply(removeScript(), 'cannot remove the kernel fence');
  }

  private apply(script: string, what: string): void {
    this.check(this.nft.run(script), what);
  }

  private check(complaint: string, what: string): void {
    if (complaint !== '') {
      // The tables went (an operator's `nft flush ruleset`, say): the fence must install them again.
      if (/No such file or directory/.test(complaint)) this.installed = false;
      throw new KernelFenceError(`${what}: ${complaint.trim()}`);
    }
  }
}
