// Our own tracks (camera, microphone, screen) and their mute states: what the publisher
// sends, and keeping the room's view of our mute states in step with ours.

import type { Publisher } from "./publisher";
import type { LocalSource, TrackLike } from "./types";

interface LocalTrack<T> {
  track: T | null;
  muted: boolean;
}

export interface LocalHost<T extends TrackLike> {
  /** The publisher signalling goes to, if any. */
  publisher(): Publisher<T> | undefined;
  /** Whether mute frames can be sent now. */
  joined(): boolean;
  sendMute(trackId: string, muted: boolean): void;
  /** The server muted one of our sources. */
  remoteMuted(source: LocalSource): void;
  log(message: string, detail?: unknown): void;
}

export class LocalTracks<T extends TrackLike> {
  private local = new Map<LocalSource, LocalTrack<T>>();
  /** Published ids whose mute state the node has heard. */
  private announced = new Set<string>();

  constructor(private readonly host: LocalHost<T>) {}

  /** A new node (or a new join) has heard none of our mute states. */
  forgetAnnounced(): void {
    this.announced.clear();
  }

  /** Publishes everything we have on a new publisher; one offer covers it all. */
  publishAll(pub: Publisher<T>): void {
    for (const [source, { track }] of this.local) {
      if (track) pub.publish(source, track);
    }
  }

  set(source: LocalSource, track: T | null): void {
    const muted = this.local.get(source)?.muted ?? false;
    this.local.set(source, { track, muted });
    if (track) track.enabled = !muted;
    // Mid-move the old publisher keeps its track until it is closed, a moment later.
    const pub = this.host.publisher();
    if (!pub) return;
    if (pub.has(source)) {
      pub.replace(source, track).catch((e) => this.host.log("replaceTrack failed", e));
    } else if (track) {
      pub.publish(source, track);
    }
  }

  remove(source: LocalSource): void {
    this.local.delete(source);
    this.host.publisher()?.unpublish(source);
  }

  setMuted(source: LocalSource, muted: boolean): void {
    const entry = this.local.get(source) ?? { track: null, muted };
    entry.muted = muted;
    this.local.set(source, entry);
    if (entry.track) entry.track.enabled = !muted;
    const id = this.host.publisher()?.publishedId(source);
    if (id && this.host.joined()) {
      this.host.sendMute(id, muted);
      this.announced.add(id);
    }
  }

  /** After an answer: tell the room about tracks that start out muted. */
  announceMutedPublications(): void {
    for (const [source, { muted }] of this.local) {
      const id = this.host.publisher()?.publishedId(source);
      if (id && muted && !this.announced.has(id)) {
        this.announced.add(id);
        this.host.sendMute(id, true);
      }
    }
  }

  /**
   * The server changed the mute state of one of our tracks. A mute turns the mic or camera
   * off as if the user had; an unmute is never applied (only the user turns the mic back
   * on), and if we are still muted we tell the room so, keeping the indicators honest.
   * Returns the source it turned off, if any.
   */
  onServerMute(trackId: string, muted: boolean): LocalSource | null {
    if (!muted) {
      this.correct(trackId, false);
      return null;
    }
    for (const source of ["microphone", "camera"] as const) {
      if (this.host.publisher()?.publishedId(source) !== trackId) continue;
      if (this.local.get(source)?.muted) return null;
      this.setMuted(source, true);
      this.host.remoteMuted(source);
      return source;
    }
    return null;
  }

  /** The server's view of our track disagrees with ours: correct it. */
  correct(trackId: string, serverMuted: boolean): void {
    for (const [source, { muted }] of this.local) {
      if (this.host.publisher()?.publishedId(source) === trackId && muted !== serverMuted) {
        this.host.sendMute(trackId, muted);
      }
    }
  }
}
