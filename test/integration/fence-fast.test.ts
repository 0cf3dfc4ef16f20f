// The fence's fault suite (test/harness/fence-faults.ts) with `profile: fast`: session
// 0.4 s, VRRPv3 adverts every 100 ms, liveness 0.3 s.
import { faultSuite } from '../harness/fence-faults.js';

faultSuite('fast');
