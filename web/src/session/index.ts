export { PING_INTERVAL_MS, type SessionOptions } from "./options";
export { Session } from "./session";
export { cameraTracks, isHost, micTracks, type HostControls } from "./host";
export type { LobbyControls } from "./lobby";
export type { Notice, NoticeKind } from "./notices";
export type {
  SessionState,
  SessionStatus,
  FatalError,
  FatalKind,
  ChatMessage,
  Knock,
  RemoteMedia,
  UnsupportedTrack,
} from "./state";
export type { TrackLike, LocalSource } from "./types";
export { liveReactions, raisedHands, REACTION_MS, type GestureControls, type Reaction } from "./gestures";
export { describeQuality, gradeQuality, worse } from "./quality";
