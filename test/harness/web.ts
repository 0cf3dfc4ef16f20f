// Real HTTP and HTTPS servers on loopback whose answers a test changes while checks run:
// status, body, delay, a connection that never answers, or bytes that are not HTTP.
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import { fileURLToPath } from 'node:url';

export interface Behaviour {
  status: number;
  body: string;
  /** Answer after this long. */
  delayMs?: number;
  /** Accept and read the request, never answer. */
  hang?: boolean;
  /** Write these bytes instead of an HTTP response, then close. */
  garbage?: string;
  /** Send the body with chunked transfer encoding. */
  chunked?: boolean;
}

export interface WebServer {
  port: number;
  /** Behaviour by path, or a function asked at each request; paths not listed get 404. */
  paths: Map<string, Behaviour | (() => Behaviour)>;
  requests: { path: string; host: string | undefined; version: string }[];
  /** Most connections open at once. */
  maxOpen: number;
  close(): Promise<void>;
}

const tlsDir = fileURLToPath(new URL('../fixtures/tls/', import.meta.url));
export const TLS_CERT = `${tlsDir}cert.pem`;

export async function startWebServer(o: { tls?: boolean } = {}): Promise<WebServer> {
  const sockets = new Set<Socket>();
  const w: WebServer = { port: 0, paths: new Map(), requests: [], maxOpen: 0, close: async () => {} };
  const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const path = req.url ?? '/';
    w.requests.push({ path, host: req.headers.host, version: req.httpVersion });
    const entry = w.paths.get(path) ?? { status: 404, body: 'not found' };
    const b = typeof entry === 'function' ? entry() : entry;
    if (b.hang) return;
    if (b.garbage !== undefined) {
      req.socket.end(b.garbage);
      return;
    }
    const answer = () => {
      if (b.chunked) {
        res.writeHead(b.status, { 'Transfer-Encoding': 'chunked' });
        const mid = Math.floor(b.body.length / 2);
        res.write(b.body.slice(0, mid));
        res.end(b.body.slice(mid));
      } else {
        res.writeHead(b.status, { 'Content-Length': Buffer.byteLength(b.body) });
        res.end(b.body);
      }
    };
    if (b.delayMs) setTimeout(answer, b.delayMs);
    else answer();
  };
  const server = o.tls ? https.createServer({ cert: readFileSync(TLS_CERT), key: readFileSync(`${tlsDir}key.pem`) }, handler) : http.createServer(handler);
  server.on(o.tls ? 'secureConnection' : 'connection', (s: Socket) => {
    sockets.add(s);
    w.maxOpen = Math.max(w.maxOpen, sockets.size);
    s.on('close', () => sockets.delete(s));
  });
  server.on('clientError', (_err, s) => s.destroy());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  w.port = (server.address() as { port: number }).port;
  w.close = () =>
    new Promise((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    });
  return w;
}
