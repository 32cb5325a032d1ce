// A <video> showing one track. Always muted: sound plays through RemoteAudio.

import { useEffect, useRef } from "react";

interface Props {
  track: MediaStreamTrack;
  mirrored?: boolean;
  fit?: "cover" | "contain";
  label?: string;
}

export function VideoView({ track, mirrored = false, fit = "cover", label }: Props) {
  const ref = useRef<HTMLVideoElement>(null);
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    el.srcObject = new MediaStream([track]);
    el.play().catch(() => {}); // autoplay muted is always allowed; ignore interruptions
    return () => {
      el.srcObject = null;
    };
  }, [track]);
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
