// Watches every remote <video> on screen for adaptive stream: its size (ResizeObserver),
// whether it is in the viewport (IntersectionObserver) and whether the tab is visible, and
// reports what is displayed on each change. The session coalesces and diffs the reports.

import { createContext, useContext, useEffect, useRef, useState } from "react";
import { displayedSizes, type ObservedVideo } from "../layout/displayed";
import type { DisplayedSize } from "../session/views";

export interface VideoRegistry {
  /** Starts watching `el`, which shows `trackId`; returns the function that stops it. */
  observe(el: Element, trackId: string, pinned: boolean): () => void;
}

export const VideoRegistryContext = createContext<VideoRegistry | null>(null);

export const useVideoRegistry = () => useContext(VideoRegistryContext);

type Report = (displayed: Map<string, DisplayedSize>) => void;

class OnScreenVideos implements VideoRegistry {
  private videos = new Map<Element, ObservedVideo>();
  private resize: ResizeObserver | null = null;
  private intersect: IntersectionObserver | null = null;

  constructor(private readonly report: () => Report) {}

  observe(el: Element, trackId: string, pinned: boolean): () => void {
    const r = el.getBoundingClientRect();
    // Without IntersectionObserver everything counts as on screen; with it, its first
    // callback (right after observe) says.
    const onScreen = typeof IntersectionObserver === "undefined";
    this.videos.set(el, { trackId, width: r.width, height: r.height, onScreen, pinned });
    this.resize?.observe(el);
    this.intersect?.observe(el);
    this.changed();
    return () => {
      this.videos.delete(el);
      this.resize?.unobserve(el);
      this.intersect?.unobserve(el);
      this.changed();
    };
  }

  start(): void {
    if (typeof ResizeObserver !== "undefined") {
      this.resize = new ResizeObserver((entries) => {
        for (const e of entries) {
          const v = this.videos.get(e.target);
          if (v) Object.assign(v, { width: e.contentRect.width, height: e.contentRect.height });
        }
        this.changed();
      });
    }
    if (typeof IntersectionObserver !== "undefined") {
      this.intersect = new IntersectionObserver((entries) => {
        for (const e of entries) {
          const v = this.videos.get(e.target);
          if (v) v.onScreen = e.isIntersecting;
        }
        this.changed();
      });
    }
    for (const el of this.videos.keys()) {
      this.resize?.observe(el);
      this.intersect?.observe(el);
    }
    document.addEventListener("visibilitychange", this.changed);
    this.changed();
  }

  stop(): void {
    this.resize?.disconnect();
    this.intersect?.disconnect();
    this.resize = this.intersect = null;
    document.removeEventListener("visibilitychange", this.changed);
  }

  private changed = () => {
    const hidden = document.visibilityState === "hidden";
    this.report()(displayedSizes(this.videos.values(), hidden, window.devicePixelRatio));
  };
}

/** A registry for the call screen's videos, reporting to `report` while mounted. */
export function useOnScreenVideos(report: Report): VideoRegistry {
  const latest = useRef(report);
  latest.current = report;
  const [registry] = useState(() => new OnScreenVideos(() => latest.current));
  useEffect(() => {
    registry.start();
    return () => registry.stop();
  }, [registry]);
  return registry;
}
