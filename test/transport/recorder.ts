/**
 * Test helper: TransportHandlers that record every call, in order.
 */
import type { Frame } from '../../transport/codec/frame.js';
import type { DialResult, PeerInfo, RejectReason, TransportHandlers } from '../../transport/transport.js';

export type RecordedEvent =
  | { kind: 'up'; peer: PeerInfo }
  | { kind: 'down'; nodeId: string; reason: string }
  | { kind: 'frame'; nodeId: string; frame: Frame }
  | { kind: 'overflow'; nodeId: string }
  | { kind: 'reject'; who: string; reason: RejectReason; detail: string }
  | { kind: 'dial'; address: string; result: DialResult };

/** Records handler calls; `handlers` is what a transport's start() takes. */
export class Recorder {
  readonly events: RecordedEvent[] = [];
  readonly handlers: TransportHandlers = {
    onPeerUp: (peer) => this.events.push({ kind: 'up', peer }),
    onPeerDown: (nodeId, reason) => this.events.push({ kind: 'down', nodeId, reason }),
    onFrame: (nodeId, frame) => this.events.push({ kind: 'frame', nodeId, frame }),
    onOverflow: (nodeId) => this.events.push({ kind: 'overflow', nodeId }),
    onReject: (who, reason, detail) => this.events.push({ kind: 'reject', who, reason, detail }),
    onDialResult: (address, result) => this.events.push({ kind: 'dial', address, result }),
  };

  dials(address?: string): DialResult[] {
    return this.events.flatMap((e) => (e.kind === 'dial' && (address === undefined || e.address === address) ? [e.result] : []));
  }

  ups(): PeerInfo[] {
    return this.events.flatMap((e) => (e.kind === 'up' ? [e.peer] : []));
  }

  downs(): Array<{ nodeId: string; reason: string }> {
    return this.events.flatMap((e) => (e.kind === 'down' ? [{ nodeId: e.nodeId, reason: e.reason }] : []));
  }

  frames(from?: string): Frame[] {
    return this.events.flatMap((e) => (e.kind === 'frame' && (from === undefined || e.nodeId === from) ? [e.frame] : []));
  }

  rejects(): Array<{ who: string; reason: RejectReason; detail: string }> {
    return this.events.flatMap((e) => (e.kind === 'reject' ? [{ who: e.who, reason: e.reason, detail: e.detail }] : []));
  }

  overflows(): string[] {
    return this.events.flatMap((e) => (e.kind === 'overflow' ? [e.nodeId] : []));
  }
}
