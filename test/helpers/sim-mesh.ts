/**
 * One mesh node on the simulated network, as the distributed tests start
 * them: the same secret and incarnation on the simulated host and the mesh,
 * peers by `sim:` address, and the given limiters.
 */
import type { LimiterOptions } from '../../src/limiter/limiter.js';
import { createMesh, type Mesh } from '../../src/mesh/mesh.js';
import type { MeshOptions } from '../../src/mesh/mesh-options.js';
import type { SimNetwork } from '../../transport/sim/sim-network.js';
import type { Transport } from '../../transport/transport.js';

/** The fast intervals most mesh tests use: digests every 200 ms, suspicion after 300 ms, join wait 500 ms. */
export const FAST_INTERVALS = { digestIntervalMs: 200, suspectAfterMs: 300, joinTimeoutMs: 500 } as const;

/** Options of {@link simNode}: mesh options, plus the simulated host's and the limiters. */
export interface SimNodeOptions extends Omit<Partial<MeshOptions>, 'nodeId' | 'transport' | 'scheduler' | 'peers'> {
  /** Default 'a-cluster-secret'. */
  secret?: string;
  /** Default `<id>-1`. */
  incarnation?: string;
  /** The simulated host's clock offset (ms); unset keeps what the network has for the id (0 when new). */
  clockOffsetMs?: number;
  /** Limiters to create on the node. */
  limiters?: LimiterOptions[];
  /** Wraps the simulated transport (e.g. to capture frames). */
  wrap?: (transport: Transport) => Transport;
}

/** Starts node `id` on `net`, dialing `peers` (node ids). */
export async function simNode(net: SimNetwork, id: string, peers: string[], o: SimNodeOptions = {}): Promise<Mesh> {
  const { secret = 'a-cluster-secret', incarnation = `${id}-1`, clockOffsetMs, limiters = [], wrap, ...meshOptions } = o;
  const { transport, scheduler } = net.addNode(id, { secret, clockOffsetMs, incarnation });
  const mesh = await createMesh({
    ...meshOptions,
    nodeId: id,
    transport: wrap === undefined ? transport : wrap(transport),
    scheduler,
    secret,
    incarnation,
    peers: peers.map((p) => `sim:${p}`),
  });
  for (const l of limiters) mesh.limiter(l);
  return mesh;
}
