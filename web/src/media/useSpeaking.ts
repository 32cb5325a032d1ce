// Who is speaking, measured locally: one AudioContext, an analyser per microphone, polled a
// few times a second. Returns the ids whose level is above a threshold (held briefly, so the
// indicator does not flicker between words). Only our own mic uses it: the node says who
// else is speaking (`active_speakers`), so a big room costs no analyser per person.

import { useEffect, useRef, useState } from "react";

const POLL_MS = 150;
const HOLD_MS = 600;
const THRESHOLD = 0.02; // RMS of the time-domain signal

export function useSpeaking(mics: { id: string; track: MediaStreamTrack }[]): Set<string> {
  const [speaking, setSpeaking] = useState<Set<string>>(() => new Set());
  const ctxRef = useRef<AudioContext | null>(null);
  const key = mics.map((m) => `${m.id}:${m.track.id}`).join(",");

  useEffect(() => {
    if (typeof AudioContext === "undefined" || mics.length === 0) {
      setSpeaking(new Set());
      return;
    }
    const ctx = (ctxRef.current ??= new AudioContext());
    void ctx.resume().catch(() => {});
    const nodes = mics.map(({ id, track }) => {
      const source = ctx.createMediaStreamSource(new MediaStream([track]));
      const analyser = ctx.createAnalyser();
      analyser.fftSize = 512;
      source.connect(analyser); // not to the destination: RemoteAudio plays the sound
      return { id, source, analyser, buf: new Float32Array(analyser.fftSize), lastLoud: 0 };
    });
    const timer = setInterval(() => {
      const now = performance.now();
      const next = new Set<string>();
      for (const n of nodes) {
        n.analyser.getFloatTimeDomainData(n.buf);
        let sum = 0;
        for (const v of n.buf) sum += v * v;
        if (Math.sqrt(sum / n.buf.length) > THRESHOLD) n.lastLoud = now;
        if (now - n.lastLoud < HOLD_MS) next.add(n.id);
      }
      setSpeaking((cur) =>
        cur.size === next.size && [...next].every((id) => cur.has(id)) ? cur : next,
      );
    }, POLL_MS);
    return () => {
      clearInterval(timer);
      nodes.forEach((n) => n.source.disconnect());
    };
  }, [key]); // eslint-disable-line react-hooks/exhaustive-deps

  useEffect(() => () => void ctxRef.current?.close().catch(() => {}), []);
  return speaking;
}
