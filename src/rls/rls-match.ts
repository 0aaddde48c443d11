/**
 * envoyproxy/ratelimit's matching rule, on a domain's descriptor tree: walk
 * the request descriptor's entries level by level; at each level take the
 * descriptor with the same key and value if there is one, else the key's
 * default (no value) — the most specific match at that level. The limit that
 * applies is the one on the descriptor reached by the *last* entry: a request
 * with more entries than the tree has levels, or fewer than the level where a
 * limit sits, matches nothing. A value-specific descriptor without a limit
 * matches and limits nothing, even when the key's default has a limit (that is
 * how envoyproxy/ratelimit lets a value through).
 *
 * @module
 */
import type { RlsLevel, RlsRule } from './rls-config.js';

/** A request descriptor's entry (the proto's `RateLimitDescriptor.Entry`). */
export interface RlsEntry {
  key: string;
  value: string;
}

/**
 * The configured descriptor whose rule applies to `entries`, or undefined
 * when none does (the descriptor is then answered OK and not counted).
 *
 * @example
 * matchDescriptor(domain.descriptors, [{ key: 'remote_address', value: '50.0.0.5' }]); // the value-specific rule if configured, else the key's default
 */
export function matchDescriptor(root: RlsLevel, entries: readonly RlsEntry[]): RlsRule | undefined {
  let level = root;
  for (let i = 0; i < entries.length; i++) {
    const slot = level.get(entries[i].key);
    const next = slot?.byValue.get(entries[i].value) ?? slot?.any;
    if (next === undefined) return undefined;
    if (i === entries.length - 1) return next.rateLimit !== undefined || next.unlimited ? next : undefined;
    if (next.children.size === 0) return undefined;
    level = next.children;
  }
  return undefined;
}
