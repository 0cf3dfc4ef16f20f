export interface VipAddress {
  address: string;
  prefix: number;
  /** Interface to bind on; undefined means the VRRP instance's interface. */
  dev: string | undefined;
  label: string | undefined;
}

/** Both accepted forms: keepalived's "10.0.0.31/24 dev eth0 label eth0:1", or an object. */
export function parseVipAddress(v: string | { address: string; dev?: string | undefined; label?: string | undefined }): VipAddress {
  if (typeof v === 'string') {
    const words = v.trim().split(/\s+/);
    const [address, prefix] = words[0]!.split('/');
    const opt = (k: string) => {
      const i = words.indexOf(k);
      return i > 0 ? words[i + 1] : undefined;
    };
    return { address: address!, prefix: Number(prefix), dev: opt('dev'), label: opt('label') };
  }
  const [address, prefix] = v.address.split('/');
  return { address: address!, prefix: Number(prefix), dev: v.dev, label: v.label };
}
