// Reading interfaces with iproute2's JSON output (validated: it is an edge like any other).
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { z } from 'zod';

const run = promisify(execFile);

const addrJson = z.array(
  z.object({
    ifname: z.string(),
    addr_info: z.array(z.object({ family: z.string(), local: z.string(), prefixlen: z.number() })).default([]),
  }),
);

export interface InterfaceInfo {
  name: string;
  ipv4: { address: string; prefix: number }[];
}

export async function interfaceInfo(ifname: string): Promise<InterfaceInfo> {
  let stdout: string;
  try {
    ({ stdout } = await run('ip', ['-j', 'addr', 'show', 'dev', ifname], { timeout: 5000 }));
  } catch (err) {
    throw new Error(`cannot read interface ${ifname}: ${((err as { stderr?: string }).stderr ?? String(err)).trim()}`);
  }
  const parsed = addrJson.safeParse(JSON.parse(stdout));
  if (!parsed.success || parsed.data.length !== 1) throw new Error(`unexpected output of ip -j addr show dev ${ifname}`);
  const i = parsed.data[0]!;
  return {
    name: i.ifname,
    ipv4: i.addr_info.filter((a) => a.family === 'inet').map((a) => ({ address: a.local, prefix: a.prefixlen })),
  };
}
