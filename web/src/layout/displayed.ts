// What the adaptive-stream report says about the videos on screen: each element's size in
// device pixels, nothing for one that is off-screen or when the tab is hidden.

import type { DisplayedSize } from "../session/views";

export interface ObservedVideo {
  trackId: string;
  /** CSS pixels. */
  width: number;
  height: number;
  /** Intersects the viewport. */
  onScreen: boolean;
  pinned: boolean;
}

export function displayedSizes(
  videos: Iterable<ObservedVideo>,
  pageHidden: boolean,
  devicePixelRatio: number,
): Map<string, DisplayedSize> {
  const out = new Map<string, DisplayedSize>();
  if (pageHidden) return out;
  const dpr = devicePixelRatio > 0 ? devicePixelRatio : 1;
  for (const v of videos) {
    if (!v.onScreen) continue;
    const width = Math.round(v.width * dpr);
    const height = Math.round(v.height * dpr);
    if (width <= 0 || height <= 0) continue;
    // One track shown twice (rare): the larger view decides.
    const prev = out.get(v.trackId);
    out.set(v.trackId, {
      width: Math.max(width, prev?.width ?? 0),
      height: Math.max(height, prev?.height ?? 0),
      pinned: v.pinned || (prev?.pinned ?? false),
    });
  }
  return out;
}
