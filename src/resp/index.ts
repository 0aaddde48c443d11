/**
 * The Redis protocol (RESP2/RESP3) front end: any language's Redis client
 * calls `TM.CONSUME`, `TM.PEEK` and `TM.RESET` on `--resp-port`, pipelined.
 *
 * Owns: the request parser (resp-parser.ts), the reply encoder
 * (resp-encoder.ts), the command table (resp-commands.ts) and the listener
 * with its bounds (resp-server.ts). May import src/errors.ts, src/validate.ts
 * and types of src/limiter — nothing of the daemon: the daemon wires it,
 * handing it the decision path as a {@link RespDecisions}.
 *
 * @module
 */
export { DEFAULT_RESP_BOUNDS, RespServer } from './resp-server.js';
export type { RespBounds, RespCloseReason, RespServerOptions, RespStats } from './resp-server.js';
export { COMMAND_NAMES, tokenCheck } from './resp-commands.js';
export type { CommandName, RespContext, RespDecisions } from './resp-commands.js';
