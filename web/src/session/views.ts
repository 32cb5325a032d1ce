// Adaptive stream: tells the node how big each remote video is on our screen (`view`
// frames), so it forwards the smallest simulcast layer that covers it, and nothing for one
// we do not show. Changes are coalesced over a short delay (a resize fires many times) and
// only what changed is sent; a new node hears the whole set.

import { MAX_TRACK_VIEWS, type TrackView } from "../protocol.gen";

/** How long changes are gathered before one `view` frame goes out. */
export const VIEW_DELAY_MS = 250;

/** What the UI shows of a track: device pixels, 0 × 0 when not shown. */
export type DisplayedSize = Omit<TrackView, "track_id">;

const HIDDEN: DisplayedSize = { width: 0, height: 0, pinned: false };

/** One view per received video track: its displayed size, or 0 × 0 if the UI does not show it. */
export function viewsFor(trackIds: string[], displayed: ReadonlyMap<string, DisplayedSize>): TrackView[] {
  return trackIds.map((track_id) => ({ track_id, ...(displayed.get(track_id) ?? HIDDEN) }));
}

const same = (a: TrackView, b: TrackView) =>
  a.width === b.width && a.height === b.height && a.pinned === b.pinned;

/** The views in `next` the node has not heard like that (`sent`: what it has heard). */
export function changedViews(sent: ReadonlyMap<string, TrackView>, next: TrackView[]): TrackView[] {
  return next.filter((v) => {
    const s = sent.get(v.track_id);
    return !s || !same(s, v);
  });
}

/** Splits `views` into frames the server accepts. */
export function viewFrames(views: TrackView[], max = MAX_TRACK_VIEWS): TrackView[][] {
  const frames: TrackView[][] = [];
  for (let i = 0; i < views.length; i += max) frames.push(views.slice(i, i + max));
  return frames;
}

export interface ViewReporterHost {
  /** Whether a frame can be sent now (joined). */
  canSend(): boolean;
  send(tracks: TrackView[]): void;
}

export class ViewReporter {
  private trackIds: string[] = [];
  private displayed = new Map<string, DisplayedSize>();
  /** What the node has heard, by track id. */
  private sent = new Map<string, TrackView>();
  /** The UI has said what it shows: until then, say nothing (the node sends everything). */
  private reporting = false;
  private timer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    private readonly host: ViewReporterHost,
    private readonly delayMs = VIEW_DELAY_MS,
  ) {}

  /** The remote video tracks we receive. */
  setTracks(ids: string[]): void {
    if (ids.length === this.trackIds.length && ids.every((id, i) => id === this.trackIds[i])) return;
    this.trackIds = ids;
    this.schedule();
  }

  /** What the UI shows now; tracks missing from it are not displayed. */
  setDisplayed(displayed: ReadonlyMap<string, DisplayedSize>): void {
    this.displayed = new Map(displayed);
    this.reporting = true;
    this.schedule();
  }

  /** A new node (re-join, move): it has heard nothing, so the next frame has everything. */
  reset(): void {
    this.sent.clear();
    this.schedule();
  }

  stop(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  /** Sends what changed now, if anything did. */
  flush(): void {
    this.stop();
    if (!this.reporting || !this.host.canSend()) return;
    const views = viewsFor(this.trackIds, this.displayed);
    const changed = changedViews(this.sent, views);
    // Tracks that went (unpublished, left) need no word: forget them.
    const current = new Set(this.trackIds);
    this.sent = new Map([...this.sent].filter(([id]) => current.has(id)));
    for (const frame of viewFrames(changed)) {
      this.host.send(frame);
      for (const v of frame) this.sent.set(v.track_id, v);
    }
  }

  private schedule(): void {
    if (!this.reporting || this.timer !== null) return;
    this.timer = setTimeout(() => this.flush(), this.delayMs);
  }
}
