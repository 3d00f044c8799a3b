import type net from 'node:net';
import { IPCModule } from '@achrinza/node-ipc';
import { FRAME_DELIMITER, type FrameReader } from './frameReader.js';

/**
 * node-ipc's wire format, shared by the server (transport.ts) and the client connection
 * (clientConnection.ts): `{"type","data"}` JSON + `\f`, node-ipc set up the same way on both sides, and
 * its frame parser replaced by our bounded one.
 */

export type MessageType = 'request' | 'response' | 'progress';

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** JSON allows space, tab, LF and CR around a value; a frame of only these carries no message. */
export const JSON_BLANK = /^[ \t\n\r]*$/;

/** `{"type":T,"data":D}\f`, as node-ipc's js-message formats it. Throws if D cannot be serialised. */
export function encodeFrame(type: MessageType, data: unknown): string {
  return `${JSON.stringify({ type, data })}${FRAME_DELIMITER}`;
}

export function newIpc(): IPCModule {
  const ipc = new IPCModule();
  ipc.config.silent = true;
  ipc.config.unlink = false;
  ipc.config.rawBuffer = false;
  ipc.config.encoding = 'utf8';
  ipc.config.maxRetries = 0;
  ipc.config.stopRetrying = true;
  return ipc;
}

/** Replaces node-ipc's parser on `socket` with a bounded frame reader. */
export function takeOverReads(socket: net.Socket, reader: FrameReader): void {
  socket.removeAllListeners('data');
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string | Buffer) => {
    if (!reader.stopped) reader.push(typeof chunk === 'string' ? chunk : chunk.toString('utf8'));
  });
}
