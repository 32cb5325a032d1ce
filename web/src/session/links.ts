// The peer connections to the room's SFU node: one pair after each join, and during a move
// to another node (`migrate`) a second pair built while the first keeps the call going
// (make before break).

import type { CloseReason, IceServer, PeerRole, ServerFrame, Signal } from "../protocol.gen";
import { adoptTracks, moveDone, onlyFrom, restoreTracks } from "./move";
import { PeerPair, type PairEvents } from "./pair";
import type { Publisher } from "./publisher";
import type { RemoteMedia, SessionState } from "./state";
import type { PeerFactory, TrackLike } from "./types";

export interface LinksHost<T extends TrackLike> {
  state(): SessionState<T>;
  patch(p: Partial<SessionState<T>>): void;
  signal(role: PeerRole, signal: Signal): void;
  /** Publishes our tracks on a new publisher. */
  publishAll(pub: Publisher<T>): void;
  /** The publisher's answer was applied. */
  negotiated(): void;
  /** A move completed: the new node carries our media. */
  moved(): void;
  /** A connection is beyond saving: re-join. */
  recover(why: string): void;
  log(message: string, detail?: unknown): void;
}

export interface LinksOptions {
  offerTimeoutMs: number;
  moveTimeoutMs: number;
}

type SignalFrame = Extract<ServerFrame, { type: "offer" | "answer" | "candidate" }>;

/** A move in progress: the pair that still carries media until the new one does. */
interface Move<T extends TrackLike> {
  old: PeerPair<T>;
  timer: ReturnType<typeof setTimeout>;
}

export class PeerLinks<T extends TrackLike> {
  /** The connections signalling goes to (during a move: the new ones). */
  private pair: PeerPair<T> | null = null;
  private move: Move<T> | null = null;
  private iceServers: IceServer[] = [];
  private readonly events: PairEvents<T>;

  constructor(
    private readonly host: LinksHost<T>,
    private readonly createPeer: PeerFactory<T>,
    private readonly opts: LinksOptions,
  ) {
    this.events = {
      signal: (role, signal) => host.signal(role, signal),
      track: (pair, media) => this.onTrack(pair, media),
      state: (pair, role, state) => this.onState(pair, role, state),
      negotiated: (pair) => {
        if (pair !== this.pair) return;
        host.negotiated();
        this.check();
      },
      offerTimeout: (pair) => {
        if (pair === this.pair) host.recover("the node did not answer our offer");
      },
      error: (role, e) => host.log(`${role} peer error`, e),
    };
  }

  get publisher(): Publisher<T> | undefined {
    return this.pair?.publisher;
  }

  /** Joined (again): fresh connections. */
  start(iceServers: IceServer[]): void {
    this.close();
    this.iceServers = iceServers;
    this.pair = this.build();
  }

  close(): void {
    if (this.move) {
      clearTimeout(this.move.timer);
      this.move.old.close();
      this.move = null;
    }
    this.pair?.close();
    this.pair = null;
  }

  onSignal(frame: SignalFrame): void {
    const pair = this.pair;
    if (!pair) return;
    if (frame.type === "offer") {
      if (frame.role === "subscriber") void pair.subscriber.onOffer(frame.sdp);
    } else if (frame.type === "answer") {
      if (frame.role === "publisher") void pair.publisher.onAnswer(frame.sdp);
    } else {
      void pair.link(frame.role).addRemoteCandidate(frame.candidate);
    }
  }

  /**
   * The room moved to another node: build new connections (the new node offers the
   * subscriber; we offer the publisher) while the old ones keep the call going. Everything
   * signalled from now on is for the new pair.
   */
  migrate(reason: CloseReason): void {
    const current = this.pair;
    if (!current) return;
    this.host.log(`the room moved to another node (${reason})`);
    let old = current;
    if (this.move) {
      // Moving again: the half-built pair goes, the pair that carried media stays.
      clearTimeout(this.move.timer);
      old = this.move.old;
      current.close();
      this.host.patch({ media: restoreTracks(this.host.state().media, current, old) });
    } else {
      current.retire();
    }
    const timer = setTimeout(() => {
      this.host.log("the move did not complete in time; dropping the old connections");
      this.finish();
    }, this.opts.moveTimeoutMs);
    this.move = { old, timer };
    this.pair = this.build();
    this.host.patch({ moving: true });
    this.check();
  }

  /** Completes a move once the new pair does the old one's job (call on roster changes). */
  check(): void {
    const pair = this.pair;
    if (this.move && pair && moveDone(pair, this.host.state().participants)) this.finish();
  }

  private build(): PeerPair<T> {
    const pair = new PeerPair<T>(this.createPeer, this.iceServers, this.events, this.opts.offerTimeoutMs);
    this.host.publishAll(pair.publisher);
    return pair;
  }

  private onTrack(pair: PeerPair<T>, media: RemoteMedia<T>): void {
    // A retired pair's late tracks are not shown; neither are a new pair's before it
    // connects (the old ones still play meanwhile).
    if (pair !== this.pair) return;
    if (!this.move || pair.states.subscriber === "connected") {
      const s = this.host.state();
      this.host.patch({ media: { ...s.media, [media.track.id]: media } });
    }
    this.check();
  }

  private onState(pair: PeerPair<T>, role: PeerRole, state: string): void {
    // The old pair failing during a move is expected: its node may be dead.
    if (pair !== this.pair) return;
    if (state === "failed") {
      this.host.recover(`${role} connection failed`);
      return;
    }
    if (this.move && role === "subscriber" && state === "connected") {
      const s = this.host.state();
      this.host.patch({ media: adoptTracks(s.media, pair, s.participants) });
    }
    this.check();
  }

  private finish(): void {
    const move = this.move;
    const pair = this.pair;
    if (!move || !pair) return;
    clearTimeout(move.timer);
    move.old.close();
    this.move = null;
    const s = this.host.state();
    const media = adoptTracks(s.media, pair, s.participants);
    this.host.patch({ media: onlyFrom(media, pair), moving: false });
    this.host.log("moved to the new node");
    this.host.moved();
  }
}
