// Raise hand and reactions in the control bar, and what they show on a tile: the raised
// hand, the reactions floating up, and the connection indicator.

import { useEffect, useRef, useState } from "react";
import { usePopover } from "./usePopover";
import type { Quality } from "../protocol.gen";
import { REACTIONS } from "../protocol.gen";
import { liveReactions, REACTION_MS, type Reaction } from "../session";

/** Material "front hand" and "mood", and signal bars; inline like the other icons. */
const HAND =
  "M18.75 8c-.69 0-1.25.56-1.25 1.25V15H17c-1.65 0-3 1.35-3 3h-1c0-2.04 1.53-3.72 3.5-3.97V3.25C16.5 2.56 15.94 2 15.25 2S14 2.56 14 3.25V11h-1V1.25C13 .56 12.44 0 11.75 0S10.5.56 10.5 1.25V11h-1V2.75c0-.69-.56-1.25-1.25-1.25S7 2.06 7 2.75V12H6V5.75c0-.69-.56-1.25-1.25-1.25S3.5 5.06 3.5 5.75v10c0 4.56 3.69 8.25 8.25 8.25S20 20.31 20 15.75v-6.5C20 8.56 19.44 8 18.75 8z";
const MOOD =
  "M11.99 2C6.47 2 2 6.48 2 12s4.47 10 9.99 10C17.52 22 22 17.52 22 12S17.52 2 11.99 2zM12 20c-4.42 0-8-3.58-8-8s3.58-8 8-8 8 3.58 8 8-3.58 8-8 8zm3.5-9c.83 0 1.5-.67 1.5-1.5S16.33 8 15.5 8 14 8.67 14 9.5s.67 1.5 1.5 1.5zm-7 0c.83 0 1.5-.67 1.5-1.5S9.33 8 8.5 8 7 8.67 7 9.5 7.67 11 8.5 11zm3.5 6.5c2.33 0 4.31-1.46 5.11-3.5H6.89c.8 2.04 2.78 3.5 5.11 3.5z";

function Svg({ d, size = 24 }: { d: string; size?: number }) {
  return (
    <svg width={size} height={size} viewBox="0 0 24 24" aria-hidden="true" focusable="false">
      <path d={d} fill="currentColor" />
    </svg>
  );
}

/** The control bar's raise-hand toggle. */
export function RaiseHandButton({ raised, onToggle }: { raised: boolean; onToggle(): void }) {
  return (
    <button
      type="button"
      className={`round-btn${raised ? " active" : ""}`}
      aria-label={raised ? "Lower hand" : "Raise hand"}
      aria-pressed={raised}
      title={raised ? "Lower hand" : "Raise hand"}
      data-testid="raise-hand"
      onClick={onToggle}
    >
      <Svg d={HAND} />
    </button>
  );
}

const EMOJI_NAMES: Record<string, string> = {
  "👍": "Thumbs up",
  "👏": "Clapping",
  "❤️": "Heart",
  "😂": "Laughing",
  "😮": "Surprised",
  "🎉": "Celebrating",
  "🤔": "Thinking",
  "👎": "Thumbs down",
};

/** The control bar's reaction picker: a button opening a row of emoji (arrow keys move). */
export function ReactionsMenu({ onReact }: { onReact(emoji: string): void }) {
  const items = useRef<(HTMLButtonElement | null)[]>([]);
  const { open, setOpen, root, button, close } = usePopover(() => items.current[0]?.focus());
  const onKeyDown = (e: React.KeyboardEvent) => {
    const i = items.current.findIndex((el) => el === document.activeElement);
    const n = REACTIONS.length;
    const focus = (j: number) => items.current[(j + n) % n]?.focus();
    if (e.key === "Escape") close();
    else if (e.key === "ArrowRight" || e.key === "ArrowDown") focus(i + 1);
    else if (e.key === "ArrowLeft" || e.key === "ArrowUp") focus(i - 1);
    else if (e.key === "Tab") setOpen(false);
    else return;
    e.preventDefault();
  };

  return (
    <div className="reactions-menu" ref={root}>
      <button
        ref={button}
        type="button"
        className={`round-btn${open ? " active" : ""}`}
        aria-label="Send a reaction"
        aria-haspopup="menu"
        aria-expanded={open}
        title="Send a reaction"
        onClick={() => setOpen((o) => !o)}
      >
        <Svg d={MOOD} />
      </button>
      {open && (
        <div className="menu reactions-row" role="menu" aria-label="Reactions" onKeyDown={onKeyDown}>
          {REACTIONS.map((emoji, i) => (
            <button
              key={emoji}
              ref={(el) => {
                items.current[i] = el;
              }}
              type="button"
              role="menuitem"
              className="reaction-item"
              tabIndex={-1}
              aria-label={EMOJI_NAMES[emoji] ?? emoji}
              title={EMOJI_NAMES[emoji]}
              onClick={() => onReact(emoji)}
            >
              <span aria-hidden="true">{emoji}</span>
            </button>
          ))}
        </div>
      )}
    </div>
  );
}

/** Re-renders while any reaction still floats, so each goes away on time. */
export function useLiveReactions(reactions: Reaction[]): Reaction[] {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (reactions.length === 0) return;
    const next = Math.min(...reactions.map((r) => r.at + REACTION_MS)) - Date.now();
    const t = setTimeout(() => setNow(Date.now()), Math.max(50, next));
    return () => clearTimeout(t);
  }, [reactions, now]);
  return liveReactions(reactions, Math.max(now, Date.now()));
}

/** The emoji floating up over a tile. */
export function FloatingReactions({ reactions }: { reactions: Reaction[] }) {
  if (reactions.length === 0) return null;
  return (
    <div className="tile-reactions" data-testid="tile-reactions">
      {reactions.map((r) => (
        <span key={r.id} className="tile-reaction" role="img" aria-label={EMOJI_NAMES[r.emoji] ?? r.emoji}>
          {r.emoji}
        </span>
      ))}
    </div>
  );
}

/** A tile's raised hand, with its place in line. */
export function HandBadge({ name, place }: { name: string; place: number }) {
  return (
    <div className="tile-hand" role="img" aria-label={`${name} raised their hand`} data-testid="tile-hand">
      <Svg d={HAND} size={18} />
      {place > 0 && <span aria-hidden="true">{place}</span>}
    </div>
  );
}

const QUALITY_LABEL: Record<Quality, string> = { good: "good", fair: "fair", poor: "poor" };

/** Signal bars: three for good, two for fair, one for poor. */
export function QualityIndicator({ name, quality, detail }: { name: string; quality: Quality; detail?: string }) {
  const bars = quality === "good" ? 3 : quality === "fair" ? 2 : 1;
  const said = detail ? ` (${detail})` : "";
  return (
    <div
      className={`tile-quality quality-${quality}`}
      role="img"
      aria-label={`${name}'s connection is ${QUALITY_LABEL[quality]}${said}`}
      title={`Connection: ${QUALITY_LABEL[quality]}${said}`}
      data-testid="tile-quality"
      data-quality={quality}
    >
      <svg width="16" height="16" viewBox="0 0 16 16" aria-hidden="true" focusable="false">
        {[0, 1, 2].map((i) => (
          <rect key={i} x={1 + i * 5} y={11 - i * 4} width="4" height={4 + i * 4} rx="1" fill="currentColor" opacity={i < bars ? 1 : 0.3} />
        ))}
      </svg>
    </div>
  );
}
