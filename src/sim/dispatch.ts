/**
 * What the simulated board's firmware does with each request in its turn: one reply per request
 * (SPEC.md section 3). PROCESS goes to the board's batch execution, which owns pacing.
 */
import { ERROR_CODE, type Info, MESSAGE_TYPE, type Message, type Process, PROTOCOL_VERSION, type Status } from '../protocol/index.js';
import { DEVICE_VERSIONS, ERROR_TEXT, type Entry } from './queue.js';

/** The board as the dispatcher sees it. */
export interface Board {
  readonly info: Info;
  reply(seq: number, message: Message): void;
  sendError(seq: number, type: number, code: number, detail: number, text: string): void;
  /** Returns the reservoir to rest and moves the epoch on; resolves to the new epoch. */
  resetState(): number;
  status(): Status;
  process(seq: number, p: Process): void;
}

export function dispatch(board: Board, e: Entry): void {
  if (e.kind === 'error') return board.sendError(e.seq, e.type, e.code, e.detail, e.text);
  const m = e.message;
  const seq = e.seq;
  switch (m.kind) {
    case 'hello':
      if (m.minVersion <= PROTOCOL_VERSION && PROTOCOL_VERSION <= m.maxVersion) board.reply(seq, board.info);
      else board.sendError(seq, MESSAGE_TYPE.hello, ERROR_CODE.UNSUPPORTED_VERSION, DEVICE_VERSIONS, ERROR_TEXT[ERROR_CODE.UNSUPPORTED_VERSION]);
      return;
    case 'configure':
      // No CONFIGURE capability in INFO: NOT_SUPPORTED for any CONFIGURE, empty or not (SPEC 3), as the C firmware does.
      return board.sendError(seq, MESSAGE_TYPE.configure, ERROR_CODE.NOT_SUPPORTED, 0, ERROR_TEXT[ERROR_CODE.NOT_SUPPORTED]);
    case 'process':
      return board.process(seq, m);
    case 'resetState':
      return board.reply(seq, { kind: 'ack', ackedType: MESSAGE_TYPE.resetState, epoch: board.resetState() });
    case 'getStatus':
      return board.reply(seq, board.status());
    case 'ping':
      return board.reply(seq, { kind: 'pong', data: m.data });
    default: // device-to-host kinds never pass a 'device' decoder; kept for completeness
      return board.sendError(seq, MESSAGE_TYPE[m.kind], ERROR_CODE.UNKNOWN_TYPE, MESSAGE_TYPE[m.kind], ERROR_TEXT[ERROR_CODE.UNKNOWN_TYPE]);
  }
}
