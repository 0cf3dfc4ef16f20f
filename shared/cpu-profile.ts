// VIGIL_CPU_PROFILE=DIR: a service samples its own CPU (V8's profiler through the
// inspector) from start to stop and writes DIR/<service>-<pid>.cpuprofile, for Chrome's
// DevTools or speedscope. For finding where an idle service's time goes (node refuses
// --cpu-prof in NODE_OPTIONS, and services are started by supervisors).
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { join } from 'node:path';

export function startCpuProfile(dir: string, name: string): () => void {
  const session = new Session();
  session.connect();
  session.post('Profiler.enable');
  session.post('Profiler.setSamplingInterval', { interval: 1000 });
  session.post('Profiler.start');
  return () => {
    session.post('Profiler.stop', (err, result) => {
      if (!err) writeFileSync(join(dir, `${name}-${process.pid}.cpuprofile`), JSON.stringify(result.profile));
      session.disconnect();
    });
  };
}
