/**
 * The slice of `@achrinza/node-ipc` 10.1.11 (pinned; the package ships no types) that transport.ts
 * uses. Only transport.ts may import this module.
 */
declare module '@achrinza/node-ipc' {
  import type { Server as NetServer, Socket } from 'node:net';

  export interface IpcConfig {
    silent: boolean;
    /** Unlink the socket path before listening (we turn this off: a live socket must never be stolen). */
    unlink: boolean;
    maxConnections: number;
    maxRetries: number | boolean;
    stopRetrying: boolean;
    delimiter: string;
    encoding: BufferEncoding;
    rawBuffer: boolean;
    readableAll: boolean;
    writableAll: boolean;
  }

  /** Event-pubsub emitter: `on(type, handler)`; 'connect' passes the accepted net.Socket. */
  export interface IpcServer {
    server: NetServer | false;
    sockets: Socket[];
    on(type: string, handler: (...args: unknown[]) => void): this;
    off(type: string, handler: ((...args: unknown[]) => void) | '*'): this;
    start(): void;
    stop(): void;
  }

  export interface IpcClient {
    socket: Socket | false;
    on(type: string, handler: (...args: unknown[]) => void): this;
  }

  export class IPCModule {
    config: IpcConfig;
    server: IpcServer | false;
    of: Record<string, IpcClient | undefined>;
    serve(path: string, callback?: () => void): void;
    connectTo(id: string, path: string, callback?: () => void): void;
    disconnect(id: string): void;
  }

  const singleton: IPCModule;
  export default singleton;
}
