// Opening another camera or microphone while one is in use. Phones open one camera at a
// time: the second `getUserMedia` fails as busy until the first is let go, so on "busy" the
// old track is stopped and the device asked for again. A device that will not open does not
// take away the one that works: the old track is kept and the error reported.

import { mediaErrorMessage, type MediaErrorKind } from "./devices";

export interface TrackLike {
  readonly readyState: string;
  stop(): void;
}

export type Opened<T> = { track: T; error: null } | { track: null; error: MediaErrorKind };

export interface Switch<T> {
  /** The track to use now: the new one, the old one kept, or none. */
  track: T | null;
  /** Why the new device did not open, if it did not. */
  error: MediaErrorKind | null;
  /** The old track is still the one in use (the new device failed). */
  kept: boolean;
}

/** Opens a device instead of `old`; the caller stops `old` once a new track is in use. */
export async function openInstead<T extends TrackLike>(open: () => Promise<Opened<T>>, old: T | null): Promise<Switch<T>> {
  let r = await open();
  if (r.error === "busy" && old && old.readyState === "live") {
    old.stop();
    r = await open();
  }
  if (!r.track && old && old.readyState === "live") return { track: old, error: r.error, kept: true };
  return { track: r.track, error: r.error, kept: false };
}

/** What the user is told when the new device failed and the old one stays. */
export function keptNotice(device: "camera" | "microphone", error: MediaErrorKind | null): string {
  return `${mediaErrorMessage(error ?? "other", device)} Still using the one you had.`;
}
