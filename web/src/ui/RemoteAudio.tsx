// Plays every remote audio track. Separate from the tiles so a participant's voice keeps
// playing whatever the layout does with their video.

import { useEffect, useRef } from "react";

type WithSink = HTMLAudioElement & { setSinkId?(id: string): Promise<void> };

function AudioTrack({ track, sinkId }: { track: MediaStreamTrack; sinkId: string }) {
  const ref = useRef<WithSink>(null);
  useEffect(() => {
    ref.current?.setSinkId?.(sinkId).catch(() => {});
  }, [sinkId]);
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

/** `sinkId`: the speaker to play on ("" = the default), where the browser can choose. */
export function RemoteAudio({ tracks, sinkId = "" }: { tracks: MediaStreamTrack[]; sinkId?: string }) {
  return (
    <div hidden>
      {tracks.map((t) => (
        <AudioTrack key={t.id} track={t} sinkId={sinkId} />
      ))}
    </div>
  );
}
