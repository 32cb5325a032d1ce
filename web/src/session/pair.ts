// One publisher + subscriber pair: the two peer connections to one SFU node. A join builds
// one; a move to another node builds a second while the first keeps carrying media.

import type { IceServer, PeerRole, Signal } from "../protocol.gen";
import { PeerLink } from "./peerLink";
import { Publisher } from "./publisher";
import type { RemoteMedia } from "./state";
import { Subscriber } from "./subscriber";
import type { PeerFactory, TrackLike } from "./types";

export interface PairEvents<T extends TrackLike> {
  signal(role: PeerRole, signal: Signal): void;
  /** A remote track arrived on this pair's subscriber. */
  track(pair: PeerPair<T>, media: RemoteMedia<T>): void;
  /** A connection state (RTCPeerConnection.connectionState) changed. */
  state(pair: PeerPair<T>, role: PeerRole, state: string): void;
  /** The publisher's answer was applied. */
  negotiated(pair: PeerPair<T>): void;
  /** The publisher's offer went unanswered. */
  offerTimeout(pair: PeerPair<T>): void;
  error(role: PeerRole, error: unknown): void;
}

export class PeerPair<T extends TrackLike> {
  readonly publisher: Publisher<T>;
  readonly subscriber: Subscriber<T>;
  readonly states: Record<PeerRole, string> = { publisher: "new", subscriber: "new" };
  /** Remote tracks this pair's subscriber delivered, by track id. */
  readonly received = new Map<string, RemoteMedia<T>>();

  constructor(
    createPeer: PeerFactory<T>,
    iceServers: IceServer[],
    events: PairEvents<T>,
    offerTimeoutMs: number,
  ) {
    const pubPc = createPeer(iceServers);
    const subPc = createPeer(iceServers);
    this.publisher = new Publisher<T>(
      new PeerLink("publisher", pubPc, events.error),
      (s) => events.signal("publisher", s),
      () => events.negotiated(this),
      { ms: offerTimeoutMs, onTimeout: () => events.offerTimeout(this) },
    );
    this.subscriber = new Subscriber<T>(
      new PeerLink("subscriber", subPc, events.error),
      (s) => events.signal("subscriber", s),
    );
    pubPc.onicecandidate = (c) => events.signal("publisher", { kind: "candidate", candidate: c });
    subPc.onicecandidate = (c) => events.signal("subscriber", { kind: "candidate", candidate: c });
    subPc.ontrack = (track, streamId) => {
      const media = { track, participantId: streamId };
      this.received.set(track.id, media);
      events.track(this, media);
    };
    pubPc.onstatechange = (s) => {
      this.states.publisher = s;
      events.state(this, "publisher", s);
    };
    subPc.onstatechange = (s) => {
      this.states.subscriber = s;
      events.state(this, "subscriber", s);
    };
  }

  link(role: PeerRole): PeerLink<T> {
    return role === "publisher" ? this.publisher.link : this.subscriber.link;
  }

  /** Whether `track` came from this pair. */
  owns(track: T): boolean {
    for (const m of this.received.values()) if (m.track === track) return true;
    return false;
  }

  /** Keeps the media running but stops all signalling (the node it talks to is going away). */
  retire(): void {
    this.publisher.stop();
    this.publisher.link.retire();
    this.subscriber.link.retire();
  }

  close(): void {
    this.publisher.stop();
    this.publisher.link.close();
    this.subscriber.link.close();
  }
}
