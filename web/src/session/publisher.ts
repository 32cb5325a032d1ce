// The publisher peer connection (client → SFU): we add sendonly tracks and make the
// offers. Renegotiations are serialised: a change made while an offer is outstanding
// triggers one more offer once the answer arrives. An offer the node never answers (it may
// never have heard of us) is reported after a timeout rather than waited on forever.
// The camera goes out as simulcast; the node's dynacast requests (`publisher_layers`)
// switch encodings off and on, and are applied again whenever the sender may have lost them.

import type { OfferedTrack, Signal } from "../protocol.gen";
import { publishOptions } from "./encodings";
import { PeerLink } from "./peerLink";
import type { LocalSource, SenderLike, TrackLike } from "./types";

interface Published<T extends TrackLike> {
  sender: SenderLike<T>;
  /** The track id in the offer's msid; stays put across replaceTrack. */
  id: string;
}

export interface OfferTimeout {
  ms: number;
  onTimeout: () => void;
}

export class Publisher<T extends TrackLike> {
  private published = new Map<LocalSource, Published<T>>();
  private negotiating = false;
  /** An offer is queued but not made yet: it will include any change made meanwhile. */
  private queued = false;
  private again = false;
  private everOffered = false;
  private answerTimer: ReturnType<typeof setTimeout> | null = null;
  /** The node's latest dynacast request per published track id (RIDs it forwards). */
  private layers = new Map<string, string[]>();
  /** An answer has been applied at least once. */
  answered = false;

  constructor(
    readonly link: PeerLink<T>,
    private readonly sendSignal: (signal: Signal) => void,
    /** Called after each answer is applied. */
    private readonly onNegotiated: () => void = () => {},
    private readonly offerTimeout: OfferTimeout | null = null,
  ) {}

  /** Something is (or is being) sent. */
  get publishing(): boolean {
    return this.published.size > 0;
  }

  /** Stops waiting for an answer (the connection is being closed or abandoned). */
  stop(): void {
    if (this.answerTimer !== null) clearTimeout(this.answerTimer);
    this.answerTimer = null;
  }

  has(source: LocalSource): boolean {
    return this.published.has(source);
  }

  publishedId(source: LocalSource): string | undefined {
    return this.published.get(source)?.id;
  }

  publish(source: LocalSource, track: T): void {
    const sender = this.link.pc.addTrack(track, publishOptions(source, track.kind));
    this.published.set(source, { sender, id: track.id });
    this.negotiate();
  }

  /** Swaps the media without renegotiating (camera on/off, device change). */
  async replace(source: LocalSource, track: T | null): Promise<void> {
    const p = this.published.get(source);
    if (!p) return;
    await p.sender.replaceTrack(track);
    this.applyLayers(p);
  }

  /** Dynacast: only the encodings `rids` of track `trackId` are received by anyone. */
  setLayers(trackId: string, rids: string[]): void {
    this.layers.set(trackId, rids);
    for (const p of this.published.values()) if (p.id === trackId) this.applyLayers(p);
  }

  private applyLayers(p: Published<T>): void {
    const rids = this.layers.get(p.id);
    if (!rids) return;
    // In the link's queue: not in the middle of an offer, and failures are reported.
    void this.link.run(() => p.sender.setActiveLayers(rids));
  }

  unpublish(source: LocalSource): void {
    const p = this.published.get(source);
    if (!p) return;
    this.published.delete(source);
    this.layers.delete(p.id);
    this.link.pc.removeTrack(p.sender);
    this.negotiate();
  }

  negotiate(): void {
    if (this.queued) return;
    if (this.negotiating) {
      this.again = true;
      return;
    }
    // Listen-only: nothing to offer until something is published.
    if (this.published.size === 0 && !this.everOffered) return;
    this.negotiating = true;
    this.queued = true;
    this.everOffered = true;
    void this.link.run(async () => {
      this.queued = false;
      const sdp = await this.link.pc.offer();
      // Retired meanwhile (a re-join or a move): nobody would answer this offer.
      if (this.link.retired) return;
      const tracks: OfferedTrack[] = [...this.published].map(([source, p]) => ({
        id: p.id,
        source,
      }));
      this.sendSignal({ kind: "offer", sdp, tracks });
      const t = this.offerTimeout;
      if (t) {
        this.stop();
        this.answerTimer = setTimeout(() => {
          this.answerTimer = null;
          t.onTimeout();
        }, t.ms);
      }
    });
  }

  onAnswer(sdp: string): Promise<void> {
    this.stop();
    return this.link.run(async () => {
      await this.link.pc.acceptAnswer(sdp);
      await this.link.remoteDescriptionSet();
      this.negotiating = false;
      this.answered = true;
      // Negotiation may have reset the encodings (simulcast accepted or not).
      for (const p of this.published.values()) this.applyLayers(p);
      this.onNegotiated();
      if (this.again) {
        this.again = false;
        this.negotiate();
      }
    });
  }
}
