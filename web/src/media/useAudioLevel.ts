// Loudness of a microphone track, 0–1, for the level meter.

import { useEffect, useState } from "react";

export function useAudioLevel(track: MediaStreamTrack | null, active: boolean): number {
  const [level, setLevel] = useState(0);
  useEffect(() => {
    if (!track || !active || typeof AudioContext === "undefined") {
      setLevel(0);
      return;
    }
    const ctx = new AudioContext();
    // Browsers start an AudioContext suspended until the page gets a click or key press.
    const resume = () => void ctx.resume().catch(() => {});
    resume();
    const events = ["pointerdown", "keydown"] as const;
    events.forEach((e) => document.addEventListener(e, resume, { once: true }));
    const source = ctx.createMediaStreamSource(new MediaStream([track]));
    const analyser = ctx.createAnalyser();
    analyser.fftSize = 512;
    source.connect(analyser);
    const buf = new Float32Array(analyser.fftSize);
    let raf = 0;
    let last = 0;
    const tick = (t: number) => {
      raf = requestAnimationFrame(tick);
      if (t - last < 66) return; // ~15 updates a second is plenty for a meter
      last = t;
      analyser.getFloatTimeDomainData(buf);
      let sum = 0;
      for (const v of buf) sum += v * v;
      const rms = Math.sqrt(sum / buf.length);
      // Speech RMS is small; a square root curve makes the meter move visibly.
      setLevel(Math.min(1, Math.sqrt(rms) * 2));
    };
    raf = requestAnimationFrame(tick);
    return () => {
      cancelAnimationFrame(raf);
      events.forEach((e) => document.removeEventListener(e, resume));
      source.disconnect();
      void ctx.close().catch(() => {});
    };
  }, [track, active]);
  return level;
}
