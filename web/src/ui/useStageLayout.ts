// The stage's layout state: the person's layout choice and pin, the speaker to follow, and
// the grid's tile cap for the window size.

import { useCallback, useEffect, useRef, useState } from "react";
import type { SpeakerLevel } from "../protocol.gen";
import { tileCapFor } from "../layout/tileCap";
import { resolvePin, type Pin } from "../layout/pin";
import { chooseSpotlight, effectiveLayout, followSpeaker, type LayoutChoice } from "../layout/spotlight";

function useWindowSize() {
  const [size, setSize] = useState(() => ({ w: window.innerWidth, h: window.innerHeight }));
  useEffect(() => {
    const onResize = () => setSize({ w: window.innerWidth, h: window.innerHeight });
    window.addEventListener("resize", onResize);
    return () => window.removeEventListener("resize", onResize);
  }, []);
  return size;
}

interface Input {
  tiles: { id: string; identity?: string; isSelf: boolean }[];
  shareCount: number;
  speakers: SpeakerLevel[];
  selfId: string | null;
}

export function useStageLayout({ tiles, shareCount, speakers, selfId }: Input) {
  const [choice, setChoice] = useState<LayoutChoice>("auto");
  const [pin, setPin] = useState<Pin | null>(null);
  const { w, h } = useWindowSize();

  const ids = tiles.map((t) => t.id);
  // Someone who left is no longer pinned; someone who rejoined under a new id still is.
  const pinnedId = resolvePin(pin, tiles);
  const lastSpeaker = useRef<string | null>(null);
  const speakerId = followSpeaker(lastSpeaker.current, speakers, selfId, ids);
  lastSpeaker.current = speakerId;

  const tilesNow = useRef(tiles);
  tilesNow.current = tiles;
  const togglePin = useCallback(
    (id: string) =>
      setPin((cur) => {
        const now = tilesNow.current;
        if (resolvePin(cur, now) === id) return null;
        return { id, identity: now.find((t) => t.id === id)?.identity };
      }),
    [],
  );
  const chooseLayout = useCallback((c: LayoutChoice) => {
    setChoice(c);
    // Grid means equal tiles: a pin would put one large again.
    if (c === "grid") setPin(null);
  }, []);

  return {
    choice,
    chooseLayout,
    pinnedId,
    togglePin,
    layout: effectiveLayout(choice, { pinned: pinnedId !== null, sharing: shareCount > 0 }),
    spotlight: chooseSpotlight({ tiles, shareCount, pinnedId, speakerId }),
    cap: tileCapFor(w, h),
  };
}
