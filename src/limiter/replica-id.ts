/**
 * Replica ids: a node id plus a fresh incarnation per process start.
 *
 * A G-Counter cell only ever grows, and peers keep the maximum they saw. A
 * node that restarted and counted again from zero under its old id would be
 * masked by its own older, larger cells; a new incarnation per start makes
 * every process a new replica, and the old one's cells expire with their
 * buckets.
 *
 * @module
 */
import { randomBytes } from 'node:crypto';

/** A new incarnation: start time plus 48 random bits, unique per process start. */
export function newIncarnation(nowMs = Date.now()): string {
  return `${nowMs.toString(36)}${randomBytes(6).toString('hex')}`;
}

/** The replica id of a node's incarnation. */
export function replicaIdOf(nodeId: string, incarnation: string): string {
  return `${nodeId}#${incarnation}`;
}
