// IPv4 addresses as text and as 32-bit numbers / 4 bytes.
const QUAD = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

export function isIpv4(s: string): boolean {
  return QUAD.test(s);
}

/** The address as a number; throws on anything isIpv4 refuses. Parsed by hand: it is on the VRRP receive path (a regex and a split per packet showed in profiles). */
export function ipv4ToNumber(s: string): number {
  let n = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 46 /* . */) {
      if (digits === 0 || dots === 3) return notIpv4(s);
      n = n * 256 + octet;
      octet = 0;
      digits = 0;
      dots += 1;
    } else if (c >= 48 && c <= 57) {
      if (digits > 0 && octet === 0) return notIpv4(s); // a leading zero
      octet = octet * 10 + (c - 48);
      digits += 1;
      if (octet > 255) return notIpv4(s);
    } else {
      return notIpv4(s);
    }
  }
  if (digits === 0 || dots !== 3) return notIpv4(s);
  return n * 256 + octet;
}

function notIpv4(s: string): never {
  throw new Error(`not an IPv4 address: ${JSON.stringify(s)}`);
}

export function numberToIpv4(n: number): string {
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

export function writeIpv4(buf: Buffer, offset: number, s: string): void {
  buf.writeUInt32BE(ipv4ToNumber(s), offset);
}

export function readIpv4(buf: Buffer, offset: number): string {
  return numberToIpv4(buf.readUInt32BE(offset));
}
