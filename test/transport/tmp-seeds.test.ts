import { createSimNetwork } from '../../transport/sim-network.js';
import { Recorder } from './recorder.js';
import { describeTransportConformance } from './transport-conformance.js';
import type { TransportHarness } from './transport-conformance.js';
function simHarness(seed: number, faults = {}): TransportHarness {
  const net = createSimNetwork({ seed, ...faults });
  return {
    async spawn(nodeId, options = {}) {
      const incarnation = `${nodeId}-1`;
      const { transport } = net.addNode(nodeId, { secret: options.secret ?? 's', incarnation, maxFrameBytes: options.maxFrameBytes });
      const recorder = new Recorder();
      await transport.start(recorder.handlers);
      return { transport, recorder, incarnation };
    },
    async waitFor(predicate, what) { if (!net.runUntil(predicate, 60_000)) throw new Error(`waited for ${what} (seed ${net.seed})`); },
    async pass(ms) { net.advance(ms); },
    async dispose() {},
  };
}
for (let s = 100; s < 160; s++) describeTransportConformance(`seed ${s}`, () => simHarness(s, { latencyMs: [0, 40] }));
