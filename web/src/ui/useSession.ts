// React binding for the session's state snapshots.

import { useSyncExternalStore } from "react";
import type { Session, SessionState } from "../session";

export function useSessionState(
  session: Session<MediaStreamTrack>,
): SessionState<MediaStreamTrack> {
  return useSyncExternalStore(session.subscribe, session.getState);
}
