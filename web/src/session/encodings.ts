// What each published source sends: the camera as three simulcast layers (so the node can
// forward each subscriber the smallest one that looks sharp on its screen), a screen share
// as one high-bitrate encoding (text must stay legible), audio as the browser likes.

import type { LocalSource, PublishOptions, SendEncoding } from "./types";

/** Quarter, half and full resolution; the RIDs the node names in `publisher_layers`. */
export const CAMERA_ENCODINGS: readonly SendEncoding[] = [
  { rid: "q", scaleResolutionDownBy: 4, maxBitrate: 150_000 },
  { rid: "h", scaleResolutionDownBy: 2, maxBitrate: 500_000 },
  { rid: "f", maxBitrate: 1_500_000 },
];

export const SCREEN_ENCODINGS: readonly SendEncoding[] = [{ maxBitrate: 2_500_000 }];

/** VP8 simulcast is the best supported across browsers and SFUs. */
export const PREFERRED_VIDEO_CODEC = "video/VP8";

export function publishOptions(source: LocalSource, kind: string): PublishOptions {
  if (kind !== "video") return {};
  const encodings = source === "screen_share" ? SCREEN_ENCODINGS : CAMERA_ENCODINGS;
  return {
    encodings: encodings.map((e) => ({ ...e })),
    preferredCodec: PREFERRED_VIDEO_CODEC,
  };
}

/**
 * `codecs` with those of `mimeType` first, the rest (other codecs, RTX, FEC) after in their
 * order: a preference, not a restriction, so a peer without it still negotiates.
 */
export function preferCodec<C extends { mimeType: string }>(codecs: C[], mimeType: string): C[] {
  const wanted = mimeType.toLowerCase();
  const first = codecs.filter((c) => c.mimeType.toLowerCase() === wanted);
  if (first.length === 0) return codecs;
  return [...first, ...codecs.filter((c) => c.mimeType.toLowerCase() !== wanted)];
}
