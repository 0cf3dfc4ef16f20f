// `npm run test:clean`: removes whatever an interrupted test run (or vigil demo) left.
import { cleanAll } from '../../lab/clean.js';

export { cleanAll };

if (import.meta.url === `file://${process.argv[1]}`) {
  await cleanAll((l) => console.log(l));
  console.log('test:clean: nothing of ours is left');
}
