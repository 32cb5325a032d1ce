// One RTCPeerConnection's signaling chores: operations run one at a time (an offer must not
// race an answer), and remote ICE candidates wait until a remote description exists.

import type { IceCandidate, PeerRole } from "../protocol.gen";
import type { PeerLike, TrackLike } from "./types";

export class PeerLink<T extends TrackLike> {
  private remoteSet = false;
  private pending: IceCandidate[] = [];
  private queue: Promise<void> = Promise.resolve();
  /**
   * Retired (closed, or kept only for its media while a replacement is built): queued
   * operations are skipped and nothing more is signalled for it.
   */
  retired = false;

  constructor(
    readonly role: PeerRole,
    readonly pc: PeerLike<T>,
    private readonly onError: (role: PeerRole, error: unknown) => void,
  ) {}

  /** Runs `op` after every earlier operation; failures are reported, not thrown. */
  run(op: () => Promise<void>): Promise<void> {
    this.queue = this.queue
      .then(() => (this.retired ? undefined : op()))
      .catch((e) => this.onError(this.role, e));
    return this.queue;
  }

  addRemoteCandidate(candidate: IceCandidate): Promise<void> {
    return this.run(async () => {
      if (this.remoteSet) await this.addCandidate(candidate);
      else this.pending.push(candidate);
    });
  }

  /** Call (inside `run`) once a remote description is applied: flushes buffered candidates. */
  async remoteDescriptionSet(): Promise<void> {
    this.remoteSet = true;
    const buffered = this.pending;
    this.pending = [];
    for (const c of buffered) await this.addCandidate(c);
  }

  /** Stops signalling; the connection itself keeps running. */
  retire(): void {
    this.retired = true;
    this.pc.onicecandidate = null;
  }

  close(): void {
    this.retire();
    this.pc.ontrack = null;
    this.pc.onstatechange = null;
    this.pc.close();
  }

  private async addCandidate(candidate: IceCandidate): Promise<void> {
    // One bad candidate must not stall the queue; the others may still connect.
    try {
      await this.pc.addIceCandidate(candidate);
    } catch (e) {
      this.onError(this.role, e);
    }
  }
}
