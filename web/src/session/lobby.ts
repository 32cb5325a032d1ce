// The lobby ("knock to join"), as a host sees it: whether guests knock, who is waiting, and
// the frames that turn it on or off and let a guest in or away. The server enforces them;
// refusing them here too keeps a non-host's session from sending what can only come back
// `forbidden`. (A guest's own wait is the session's `lobby` status; see joinWait.ts.)

import type { ClientFrame, ServerFrame } from "../protocol.gen";
import { joinedAsHost } from "./host";
import { lobbyNotice, type Notice } from "./notices";
import type { Knock, SessionState } from "./state";
import type { TrackLike } from "./types";

export type LobbyFrame = Extract<ServerFrame, { type: "knock" | "knock_resolved" | "lobby_changed" }>;

export function isLobbyFrame(f: ServerFrame): f is LobbyFrame {
  return f.type === "knock" || f.type === "knock_resolved" || f.type === "lobby_changed";
}

/** The state after `frame`, and what to tell the person about it, if anything. */
export function applyLobbyFrame<T extends TrackLike>(
  s: SessionState<T>,
  frame: LobbyFrame,
): { state: SessionState<T>; notice: Notice | null } {
  switch (frame.type) {
    case "knock": {
      // A host who joins is shown everyone waiting, so the same knock can come twice.
      if (s.knocks.some((k) => k.knockId === frame.knock_id)) return { state: s, notice: null };
      const knock: Knock = { knockId: frame.knock_id, name: frame.name };
      return {
        state: { ...s, knocks: [...s.knocks, knock] },
        notice: { kind: "knock", text: `${frame.name} wants to join` },
      };
    }
    case "knock_resolved": {
      const knocks = s.knocks.filter((k) => k.knockId !== frame.knock_id);
      return { state: knocks.length === s.knocks.length ? s : { ...s, knocks }, notice: null };
    }
    case "lobby_changed":
      return {
        state: s.lobby === frame.enabled ? s : { ...s, lobby: frame.enabled },
        // Without `by` it is what a host is shown on joining (or the room API's doing):
        // state, not news.
        notice: frame.by ? lobbyNotice(s, frame.enabled, frame.by) : null,
      };
  }
}

export interface LobbyEnv {
  state(): Pick<SessionState<TrackLike>, "status" | "self" | "knocks">;
  send(frame: ClientFrame): void;
}

/** What a host can do about the lobby. Each action returns whether anything was sent. */
export class LobbyControls {
  constructor(private readonly env: LobbyEnv) {}

  /** Joined, as a host. */
  get allowed(): boolean {
    return joinedAsHost(this.env.state());
  }

  /** Makes guests knock (`true`), or lets them straight in. */
  setEnabled(enabled: boolean): boolean {
    return this.allowed && this.sendOne({ action: "set_lobby", enabled });
  }

  /** Lets a waiting guest in. */
  admit(knockId: string): boolean {
    return this.waiting(knockId) && this.sendOne({ action: "admit_guest", knock_id: knockId });
  }

  /** Turns a waiting guest away. */
  deny(knockId: string): boolean {
    return this.waiting(knockId) && this.sendOne({ action: "deny_guest", knock_id: knockId });
  }

  /** A knock still waiting, if we are a host. */
  private waiting(knockId: string): boolean {
    return this.allowed && this.env.state().knocks.some((k) => k.knockId === knockId);
  }

  private sendOne(frame: ClientFrame): boolean {
    this.env.send(frame);
    return true;
  }
}
