// The signaling WebSocket the session talks through: one at a time, frames as JSON, and a
// socket we closed ourselves (or replaced) reports nothing more.

import type { ClientFrame } from "../protocol.gen";
import type { SocketFactory, SocketLike } from "./types";

export interface SocketHandlers {
  open(): void;
  message(data: string): void;
  /** The socket closed without us closing it; `opened`: it had opened first. */
  closed(opened: boolean): void;
}

export class SignalingSocket {
  private socket: SocketLike | null = null;

  constructor(
    private readonly create: SocketFactory,
    private readonly log: (message: string, detail?: unknown) => void,
  ) {}

  /** Opens a socket to `url`, replacing (silently) any current one. */
  open(url: string, handlers: SocketHandlers): void {
    this.close();
    let opened = false;
    const socket = this.create(url);
    this.socket = socket;
    socket.onopen = () => {
      opened = true;
      handlers.open();
    };
    socket.onmessage = (data) => handlers.message(data);
    socket.onclose = () => {
      if (this.socket !== socket) return;
      this.socket = null;
      handlers.closed(opened);
    };
  }

  send(frame: ClientFrame): void {
    try {
      this.socket?.send(JSON.stringify(frame));
    } catch (e) {
      this.log("send failed", e);
    }
  }

  /** Closes the socket without reporting it. */
  close(): void {
    const s = this.socket;
    this.socket = null;
    if (s) {
      s.onclose = null;
      s.onmessage = null;
      s.close();
    }
  }
}
