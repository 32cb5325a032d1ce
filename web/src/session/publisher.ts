// The publisher peer connection (client → SFU): we add sendonly tracks and make the
// offers. Renegotiations are serialised: a change made while an offer is outstanding
// triggers one more offer once the answer arrives.

import type { OfferedTrack, Signal } from "../protocol.gen";
import { PeerLink } from "./peerLink";
import type { LocalSource, SenderLike, TrackLike } from "./types";

interface Published<T extends TrackLike> {
  sender: SenderLike<T>;
  /** The track id in the offer's msid; stays put across replaceTrack. */
  id: string;
}

export class Publisher<T extends TrackLike> {
  private published = new Map<LocalSource, Published<T>>();
  private negotiating = false;
  private again = false;
  private everOffered = false;

  constructor(
    readonly link: PeerLink<T>,
    private readonly sendSignal: (signal: Signal) => void,
    /** Called after each answer is applied. */
    private readonly onNegotiated: () => void = () => {},
  ) {}

  has(source: LocalSource): boolean {
    return this.published.has(source);
  }

  publishedId(source: LocalSource): string | undefined {
    return this.published.get(source)?.id;
  }

  publish(source: LocalSource, track: T): void {
    const sender = this.link.pc.addTrack(track);
    this.published.set(source, { sender, id: track.id });
    this.negotiate();
  }

  /** Swaps the media without renegotiating (camera on/off, device change). */
  replace(source: LocalSource, track: T | null): Promise<void> {
    const p = this.published.get(source);
    if (!p) return Promise.resolve();
    return p.sender.replaceTrack(track);
  }

  unpublish(source: LocalSource): void {
    const p = this.published.get(source);
    if (!p) return;
    this.published.delete(source);
    this.link.pc.removeTrack(p.sender);
    this.negotiate();
  }

  negotiate(): void {
    if (this.negotiating) {
      this.again = true;
      return;
    }
    // Listen-only: nothing to offer until something is published.
    if (this.published.size === 0 && !this.everOffered) return;
    this.negotiating = true;
    this.everOffered = true;
    void this.link.run(async () => {
      const sdp = await this.link.pc.offer();
      const tracks: OfferedTrack[] = [...this.published].map(([source, p]) => ({
        id: p.id,
        source,
      }));
      this.sendSignal({ kind: "offer", sdp, tracks });
    });
  }

  onAnswer(sdp: string): Promise<void> {
    return this.link.run(async () => {
      await this.link.pc.acceptAnswer(sdp);
      await this.link.remoteDescriptionSet();
      this.negotiating = false;
      this.onNegotiated();
      if (this.again) {
        this.again = false;
        this.negotiate();
      }
    });
  }
}
