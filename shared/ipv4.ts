// IPv4 addresses as text and as 32-bit numbers / 4 bytes.
const QUAD = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

export function isIpv4(s: string): boolean {
  return QUAD.test(s);
}

export function ipv4ToNumber(s: string): number {
  if (!isIpv4(s)) throw new Error(`not an IPv4 address: ${JSON.stringify(s)}`);
  return s.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
}

export function numberToIpv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

export function writeIpv4(buf: Buffer, offset: number, s: string): void {
  buf.writeUInt32BE(ipv4ToNumber(s), offset);
}

export function readIpv4(buf: Buffer, offset: number): string {
  return numberToIpv4(buf.readUInt32BE(offset));
}
