// The control connection's state table (RFC 2661 §7.2.1), one row per (state, setup message).
// The table says which of the tunnel's handlers runs; the handler decides between the row's
// outcomes (an acceptable SCCRQ answered, an unacceptable one refused) and moves the state.
// StopCCN (T16, any state) and HELLO (transport ack only, §6.5) never reach this table;
// a setup message with no row here is T4, T9, T12 or T15: StopCCN, result 7 (FSM error).
import { MessageType } from '../protocol/types.js';
import type { TunnelState } from './events.js';

/** The tunnel's setup handlers the table can name. */
export type SetupHandler = 'onSccrq' | 'onSccrp' | 'onScccn' | 'onStrayScccn';

export interface TunnelRow {
  from: TunnelState;
  message: MessageType;
  handler: SetupHandler;
  /** Where the row leads (the handler's success case; a refusal closes instead). */
  to: TunnelState;
  /** The §7.2.1 transitions the row covers. */
  rfc: string;
}

const T = MessageType;

export const TUNNEL_ROWS: readonly TunnelRow[] = [
  // Responder: an acceptable SCCRQ gets SCCRP (T2), an unacceptable one StopCCN (T3).
  { from: 'idle', message: T.SCCRQ, handler: 'onSccrq', to: 'wait-ctl-conn', rfc: 'T2, T3' },
  // An SCCCN out of nowhere is cleaned up without a word.
  { from: 'idle', message: T.SCCCN, handler: 'onStrayScccn', to: 'closed', rfc: 'T5' },
  // Originator: SCCRP accepted, SCCCN sent (T6); refused: StopCCN (T7, T20, T22).
  {
    from: 'wait-ctl-reply',
    message: T.SCCRP,
    handler: 'onSccrp',
    to: 'established',
    rfc: 'T6, T7, T20, T22',
  },
  // Responder: SCCCN with a good challenge response (T10); otherwise StopCCN (T11, T22).
  {
    from: 'wait-ctl-conn',
    message: T.SCCCN,
    handler: 'onScccn',
    to: 'established',
    rfc: 'T10, T11, T22',
  },
];

/** Handler by state and message type; absent: the message is out of sequence (T4, T9, T12, T15). */
export const TUNNEL_FSM: ReadonlyMap<TunnelState, ReadonlyMap<number, SetupHandler>> = (() => {
  const fsm = new Map<TunnelState, Map<number, SetupHandler>>();
  for (const row of TUNNEL_ROWS) {
    let byType = fsm.get(row.from);
    if (byType === undefined) fsm.set(row.from, (byType = new Map()));
    byType.set(row.message, row.handler);
  }
  return fsm;
})();

/** The setup messages of §7.2.1; other tunnel-level types (HELLO, unknown ones) skip the table. */
export function isSetupMessage(type: number): boolean {
  return type === T.SCCRQ || type === T.SCCRP || type === T.SCCCN;
}
