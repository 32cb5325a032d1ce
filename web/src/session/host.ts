// Host controls: the frames a host (`grants.room_admin`) sends to mute, remove, lock and
// end. The server enforces them; refusing them here too keeps a non-host's session from
// sending what can only come back `forbidden`.

import type { ClientFrame, ParticipantInfo, TrackInfo } from "../protocol.gen";
import type { SessionState } from "./state";
import type { TrackLike } from "./types";

export function isHost(p: ParticipantInfo | null | undefined): boolean {
  return p?.grants.room_admin === true;
}

/** In the meeting, as a host: when host actions may be sent at all. */
export function joinedAsHost(s: Pick<SessionState<TrackLike>, "status" | "self">): boolean {
  return s.status === "joined" && isHost(s.self);
}

const live = (p: ParticipantInfo, f: (t: TrackInfo) => boolean) => p.tracks.filter((t) => f(t) && !t.muted);

/** The tracks "Mute" turns off: every audio track still on (hosts mute; only owners unmute). */
export const micTracks = (p: ParticipantInfo) => live(p, (t) => t.kind === "audio");
/** The tracks "Stop video" turns off: the camera, if on. */
export const cameraTracks = (p: ParticipantInfo) => live(p, (t) => t.source === "camera");

function muteFrames(p: ParticipantInfo, tracks: TrackInfo[]): ClientFrame[] {
  return tracks.map((t) => ({ action: "mute_participant", participant_id: p.id, track_id: t.id }));
}

export interface HostEnv {
  state(): Pick<SessionState<TrackLike>, "status" | "self" | "participants">;
  send(frame: ClientFrame): void;
}

/** What a host can do to the meeting. Each action returns whether anything was sent. */
export class HostControls {
  constructor(private readonly env: HostEnv) {}

  /** Joined, as a host. */
  get allowed(): boolean {
    return joinedAsHost(this.env.state());
  }

  /** Mutes someone else's microphone (their audio tracks). */
  muteMic(participantId: string): boolean {
    const p = this.other(participantId);
    return !!p && this.sendAll(muteFrames(p, micTracks(p)));
  }

  /** Turns off someone else's camera. */
  stopVideo(participantId: string): boolean {
    const p = this.other(participantId);
    return !!p && this.sendAll(muteFrames(p, cameraTracks(p)));
  }

  /** Removes someone for the rest of the meeting. */
  remove(participantId: string): boolean {
    const p = this.other(participantId);
    return !!p && this.sendAll([{ action: "remove_participant", participant_id: p.id }]);
  }

  setLocked(locked: boolean): boolean {
    return this.allowed && this.sendAll([{ action: "lock_meeting", locked }]);
  }

  endMeeting(): boolean {
    return this.allowed && this.sendAll([{ action: "end_meeting" }]);
  }

  /** Another participant we may act on, if we are a host. */
  private other(id: string): ParticipantInfo | undefined {
    return this.allowed ? this.env.state().participants.find((p) => p.id === id) : undefined;
  }

  private sendAll(frames: ClientFrame[]): boolean {
    for (const f of frames) this.env.send(f);
    return frames.length > 0;
  }
}
