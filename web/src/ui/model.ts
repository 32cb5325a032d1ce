// What the meeting screen shows, derived from the session state: one tile per person and
// one stage entry per screen share.

import type { ParticipantInfo, Quality, TrackSource } from "../protocol.gen";
import { isHost, type Reaction, type RemoteMedia, type TrackLike, type UnsupportedTrack } from "../session";

export interface TileModel<T> {
  id: string;
  /** Who the token says this is (stays the same when they rejoin under a new id). */
  identity?: string;
  name: string;
  isSelf: boolean;
  video: T | null;
  /** Mic muted, or no mic at all. */
  audioMuted: boolean;
  /** Why their camera cannot be shown here, if so. */
  notice?: string;
  /** A host of the meeting (`room_admin`). */
  host?: boolean;
  /** Their place in the raised-hand line (1 = first), when their hand is up. */
  handPlace?: number;
  /** How well their media gets through (see tileGestures.ts). */
  quality?: Quality;
  /** What the node measured of their connection ("12 % packet loss, 420 ms round trip"). */
  qualityDetail?: string;
  /** Reactions floating over their tile now. */
  reactions?: Reaction[];
}

export interface ShareModel<T> {
  participantId: string;
  name: string;
  isSelf: boolean;
  track: T;
  /** Why it cannot be shown here, if so. */
  notice?: string;
}

export interface RemoteView<T> {
  tiles: TileModel<T>[];
  shares: ShareModel<T>[];
  audio: T[];
}

const isSource = (s: TrackSource) => (t: { source: TrackSource }) => t.source === s;

/** "video/VP9" → "VP9". */
const codecName = (codec: string) => codec.replace(/^(video|audio)\//i, "") || codec;

/** The notice on a tile whose video this browser cannot decode. */
export function unsupportedNotice(name: string, what: "video" | "screen", codec: string): string {
  return `Can't show ${name}'s ${what}: this browser can't decode ${codecName(codec)}`;
}

/** The remote participants' tiles, screen shares and audio tracks. */
export function remoteView<T extends TrackLike>(
  participants: ParticipantInfo[],
  media: Record<string, RemoteMedia<T>>,
  unsupported: Record<string, UnsupportedTrack> = {},
): RemoteView<T> {
  const tiles: TileModel<T>[] = [];
  const shares: ShareModel<T>[] = [];
  for (const p of participants) {
    // A track id may have been another session's (a re-join publishes the same ids).
    const byId = (id: string | undefined) => {
      const m = id ? media[id] : undefined;
      return m && (m.participantId === undefined || m.participantId === p.id) ? m.track : undefined;
    };
    const screenIds = new Set(p.tracks.filter(isSource("screen_share")).map((t) => t.id));
    const camInfo = p.tracks.find(isSource("camera"));
    // If the SFU's track ids ever disagree with track_published, fall back to the stream
    // id: any video from this participant that is not a known screen share is the camera.
    const camera =
      byId(camInfo?.id) ??
      Object.entries(media).find(
        ([id, m]) => m.participantId === p.id && m.track.kind === "video" && !screenIds.has(id),
      )?.[1].track;
    const micInfo = p.tracks.find(isSource("microphone"));
    const camBad = p.tracks.find((t) => t.kind === "video" && !screenIds.has(t.id) && unsupported[t.id]);
    tiles.push({
      id: p.id,
      identity: p.identity,
      name: p.name,
      isSelf: false,
      video: camera && !camInfo?.muted ? camera : null,
      audioMuted: !micInfo || micInfo.muted,
      ...(camBad && { notice: unsupportedNotice(p.name, "video", unsupported[camBad.id].codec) }),
      ...(isHost(p) && { host: true }),
    });
    for (const id of screenIds) {
      const track = byId(id);
      const bad = unsupported[id];
      if (track) {
        const share: ShareModel<T> = { participantId: p.id, name: p.name, isSelf: false, track };
        if (bad) share.notice = unsupportedNotice(p.name, "screen", bad.codec);
        shares.push(share);
      } else if (bad) {
        // Nothing arrives for a track we cannot decode: say so on their tile.
        const tile = tiles[tiles.length - 1];
        tile.notice ??= unsupportedNotice(p.name, "screen", bad.codec);
      }
    }
  }
  const audio = Object.values(media)
    .map((m) => m.track)
    .filter((t) => t.kind === "audio");
  return { tiles, shares, audio };
}

/** Columns and tile width for `count` 16:9 tiles in a `width`×`height` box, largest tiles first. */
export function gridLayout(
  count: number,
  width: number,
  height: number,
  gap = 8,
): { cols: number; tileWidth: number } {
  let best = { cols: 1, tileWidth: 0 };
  if (width <= 0 || height <= 0) return best;
  for (let cols = 1; cols <= Math.max(1, count); cols++) {
    const rows = Math.ceil(Math.max(1, count) / cols);
    const byWidth = (width - gap * (cols - 1)) / cols;
    const byHeight = ((height - gap * (rows - 1)) / rows) * (16 / 9);
    const tileWidth = Math.floor(Math.min(byWidth, byHeight));
    if (tileWidth > best.tileWidth) best = { cols, tileWidth };
  }
  return best;
}
