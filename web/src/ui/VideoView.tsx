// A <video> showing one track. Always muted: sound plays through RemoteAudio. A remote
// video reports its on-screen size, so the node sends it the layer that fits.

import { useEffect, useRef } from "react";
import { useVideoRegistry } from "./videoRegistry";

interface Props {
  track: MediaStreamTrack;
  mirrored?: boolean;
  fit?: "cover" | "contain";
  label?: string;
  /** Someone else's video: its displayed size goes into the `view` reports. */
  remote?: boolean;
  pinned?: boolean;
}

export function VideoView({ track, mirrored = false, fit = "cover", label, remote = false, pinned = false }: Props) {
  const ref = useRef<HTMLVideoElement>(null);
  const registry = useVideoRegistry();
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    el.srcObject = new MediaStream([track]);
    el.play().catch(() => {}); // autoplay muted is always allowed; ignore interruptions
    return () => {
      el.srcObject = null;
    };
  }, [track]);
  useEffect(() => {
    const el = ref.current;
    if (!remote || !registry || !el) return;
    return registry.observe(el, track.id, pinned);
  }, [remote, registry, track.id, pinned]);
  return (
    <video
      ref={ref}
      className={`video fit-${fit}${mirrored ? " mirrored" : ""}`}
      autoPlay
      playsInline
      muted
      aria-label={label}
      data-track-id={track.id}
    />
  );
}
