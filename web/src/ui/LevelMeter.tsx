// Microphone level: three dots that grow with loudness, as in Meet's pre-join screen.

import { useAudioLevel } from "../media/useAudioLevel";

export function LevelMeter({ track, active }: { track: MediaStreamTrack | null; active: boolean }) {
  const level = useAudioLevel(track, active);
  const pct = Math.round(level * 100);
  return (
    <div
      className="level-meter"
      role="meter"
      aria-label="Microphone level"
      aria-valuemin={0}
      aria-valuemax={100}
      aria-valuenow={pct}
      data-level={pct}
    >
      {[0.15, 0.35, 0.15].map((w, i) => (
        <span key={i} style={{ transform: `scaleY(${0.25 + Math.min(1, level * (1 + w * 4)) * 0.75})` }} />
      ))}
    </div>
  );
}
