// Which layout the stage uses and what the speaker view puts large.

import type { SpeakerLevel } from "../protocol.gen";

/** What the person picked in the layout menu. */
export type LayoutChoice = "auto" | "speaker" | "grid";
/** What the stage shows. */
export type Layout = "speaker" | "grid";

export const LAYOUT_CHOICES: readonly { value: LayoutChoice; label: string }[] = [
  { value: "auto", label: "Auto" },
  { value: "speaker", label: "Speaker" },
  { value: "grid", label: "Grid" },
];

/** A pin always puts its tile large; Auto spotlights a screen share, else shows the grid. */
export function effectiveLayout(choice: LayoutChoice, opts: { pinned: boolean; sharing: boolean }): Layout {
  if (opts.pinned) return "speaker";
  if (choice === "auto") return opts.sharing ? "speaker" : "grid";
  return choice;
}

export type Spotlight = { kind: "share"; index: number } | { kind: "tile"; id: string };

export interface SpotlightInput {
  /** The tiles on the stage, self included. */
  tiles: { id: string; isSelf: boolean }[];
  shareCount: number;
  pinnedId: string | null;
  /** The remote participant who spoke last (see followSpeaker). */
  speakerId: string | null;
}

/** The pinned participant, else a screen share, else the active speaker, else someone else, else us. */
export function chooseSpotlight({ tiles, shareCount, pinnedId, speakerId }: SpotlightInput): Spotlight | null {
  const present = (id: string | null) => id !== null && tiles.some((t) => t.id === id);
  if (present(pinnedId)) return { kind: "tile", id: pinnedId! };
  if (shareCount > 0) return { kind: "share", index: 0 };
  if (present(speakerId)) return { kind: "tile", id: speakerId! };
  const other = tiles.find((t) => !t.isSelf) ?? tiles[0];
  return other ? { kind: "tile", id: other.id } : null;
}

/**
 * The remote participant to keep large: the loudest one speaking now, else whoever it was
 * before (silence between sentences must not flip the view), if still here.
 */
export function followSpeaker(
  previous: string | null,
  speakers: SpeakerLevel[],
  selfId: string | null,
  presentIds: string[],
): string | null {
  const loudest = speakers.find((s) => s.participant_id !== selfId && presentIds.includes(s.participant_id));
  if (loudest) return loudest.participant_id;
  return previous !== null && presentIds.includes(previous) ? previous : null;
}
