// A real server of the lab, run inside its namespace: answers HTTP with its own name, or
// 503 while the file DOWN_FLAG exists (how the demo makes a check fail).
//   http-server NAME ADDRESS PORT DOWN_FLAG
import { existsSync } from 'node:fs';
import { createServer } from 'node:http';

const [name, address, port, downFlag] = process.argv.slice(2);
createServer((req, res) => {
  req.resume();
  const down = existsSync(downFlag!);
  res.writeHead(down ? 503 : 200, { 'content-type': 'text/plain', connection: 'close' });
  res.end(down ? `${name} is down for the demo\n` : `${name}\n`);
}).listen(Number(port), address, () => process.stdout.write(JSON.stringify({ ready: true }) + '\n'));
