// Reading an HTTP/1.x response as it arrives, for HTTP_GET/SSL_GET: the status line,
// the headers, and the body only when a digest or regex needs it (framed by
// Content-Length, chunked encoding or the end of the connection), with hard size caps.
// Pure: bytes in, a verdict out; garbage is a verdict, never an exception.
export type HttpRead =
  | { kind: 'more' }
  | { kind: 'response'; status: number; body: Buffer | undefined }
  | { kind: 'garbage'; reason: string };

export const MAX_HEAD_BYTES = 16 * 1024;
export const MAX_BODY_BYTES = 1024 * 1024;

const MORE: HttpRead = { kind: 'more' };
const printable = (b: Buffer) => JSON.stringify(b.subarray(0, 40).toString('latin1'));

type Framing = { by: 'length'; left: number } | { by: 'chunked' } | { by: 'close' };

export class HttpResponseReader {
  private buf: Buffer = Buffer.alloc(0);
  private status: number | undefined;
  private framing: Framing | undefined;
  private readonly body: Buffer[] = [];
  private bodyBytes = 0;
  private verdict: HttpRead | undefined;

  constructor(private readonly needBody: boolean, private readonly maxBody = MAX_BODY_BYTES) {}

  push(chunk: Buffer): HttpRead {
    if (this.verdict) return this.verdict;
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const v = this.advance();
    if (v.kind !== 'more') this.verdict = v;
    return v;
  }

  /** The peer closed the connection. */
  end(): HttpRead {
    if (this.verdict && this.verdict.kind !== 'more') return this.verdict;
    if (this.status === undefined) {
      return { kind: 'garbage', reason: this.buf.length === 0 ? 'connection closed without a response' : `connection closed inside the response header (got ${printable(this.buf)})` };
    }
    if (this.framing?.by === 'close') return { kind: 'response', status: this.status, body: Buffer.concat(this.body) };
    return { kind: 'garbage', reason: `connection closed before the end of the body (${this.bodyBytes} bytes read)` };
  }

  private advance(): HttpRead {
    if (this.status === undefined) {
      const head = this.readHead();
      if (head.kind !== 'more' || this.status === undefined) return head;
    }
    if (!this.needBody) return { kind: 'response', status: this.status, body: undefined };
    return this.readBody();
  }

  private readHead(): HttpRead {
    for (;;) {
      if (this.buf.length >= 5 && this.buf.subarray(0, 5).toString('latin1') !== 'HTTP/') {
        return { kind: 'garbage', reason: `not an HTTP response (starts with ${printable(this.buf)})` };
      }
      const end = this.buf.indexOf('\r\n\r\n');
      if (end < 0) return this.buf.length > MAX_HEAD_BYTES ? { kind: 'garbage', reason: `response header larger than ${MAX_HEAD_BYTES} bytes` } : MORE;
      const lines = this.buf.subarray(0, end).toString('latin1').split('\r\n');
      this.buf = this.buf.subarray(end + 4);
      const m = /^HTTP\/1\.[01] (\d{3})(?: .*)?$/.exec(lines[0] ?? '');
      if (!m) return { kind: 'garbage', reason: `bad status line ${JSON.stringify((lines[0] ?? '').slice(0, 60))}` };
      const status = Number(m[1]);
      if (status >= 100 && status < 200) continue; // an interim response; the real one follows
      const headers = new Map<string, string>();
      for (const line of lines.slice(1)) {
        const colon = line.indexOf(':');
        if (colon <= 0) return { kind: 'garbage', reason: `bad header line ${JSON.stringify(line.slice(0, 60))}` };
        headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
      }
      this.status = status;
      const te = headers.get('transfer-encoding');
      const cl = headers.get('content-length');
      if (te !== undefined && te.toLowerCase().split(',').map((s) => s.trim()).includes('chunked')) this.framing = { by: 'chunked' };
      else if (cl !== undefined) {
        if (!/^\d{1,15}$/.test(cl)) return { kind: 'garbage', reason: `bad Content-Length ${JSON.stringify(cl.slice(0, 30))}` };
        this.framing = { by: 'length', left: Number(cl) };
      } else if (status === 204 || status === 304) this.framing = { by: 'length', left: 0 };
      else this.framing = { by: 'close' };
      return MORE;
    }
  }

  private take(n: number): HttpRead | undefined {
    this.bodyBytes += n;
    if (this.bodyBytes > this.maxBody) return { kind: 'garbage', reason: `body larger than ${this.maxBody} bytes` };
    this.body.push(this.buf.subarray(0, n));
    this.buf = this.buf.subarray(n);
    return undefined;
  }

  private readBody(): HttpRead {
    const f = this.framing!;
    const done = (): HttpRead => ({ kind: 'response', status: this.status!, body: Buffer.concat(this.body) });
    if (f.by === 'close') return this.take(this.buf.length) ?? MORE;
    if (f.by === 'length') {
      const n = Math.min(f.left, this.buf.length);
      const over = this.take(n);
      if (over) return over;
      f.left -= n;
      return f.left === 0 ? done() : MORE;
    }
    for (;;) {
      const eol = this.buf.indexOf('\r\n');
      if (eol < 0) return this.buf.length > 64 ? { kind: 'garbage', reason: 'bad chunk size line' } : MORE;
      const sizeText = this.buf.subarray(0, eol).toString('latin1').split(';')[0]!.trim();
      if (!/^[0-9a-fA-F]{1,8}$/.test(sizeText)) return { kind: 'garbage', reason: `bad chunk size ${JSON.stringify(sizeText.slice(0, 20))}` };
      const size = parseInt(sizeText, 16);
      if (size === 0) return done(); // trailers are not read: the connection is closed after this
      if (this.buf.length < eol + 2 + size + 2) {
        if (this.bodyBytes + size > this.maxBody) return { kind: 'garbage', reason: `body larger than ${this.maxBody} bytes` };
        return MORE;
      }
      this.buf = this.buf.subarray(eol + 2);
      const over = this.take(size);
      if (over) return over;
      if (this.buf.subarray(0, 2).toString('latin1') !== '\r\n') return { kind: 'garbage', reason: 'chunk not followed by CRLF' };
      this.buf = this.buf.subarray(2);
    }
  }
}
