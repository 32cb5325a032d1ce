// Plays every remote audio track. Separate from the tiles so a participant's voice keeps
// playing whatever the layout does with their video.

import { useEffect, useRef } from "react";

function AudioTrack({ track }: { track: MediaStreamTrack }) {
  const ref = useRef<HTMLAudioElement>(null);
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    el.srcObject = new MediaStream([track]);
    el.play().catch(() => {});
    return () => {
      el.srcObject = null;
    };
  }, [track]);
  return <audio ref={ref} autoPlay data-track-id={track.id} />;
}

export function RemoteAudio({ tracks }: { tracks: MediaStreamTrack[] }) {
  return (
    <div hidden>
      {tracks.map((t) => (
        <AudioTrack key={t.id} track={t} />
      ))}
    </div>
  );
}
