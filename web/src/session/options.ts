// The session's options and timing defaults.

import type { BackoffOptions } from "./backoff";
import type { PeerFactory, SocketFactory, TrackLike } from "./types";

/** Often enough to notice a dead socket in seconds (and far under API Gateway's 10-minute idle timeout). */
export const PING_INTERVAL_MS = 10_000;
/** Nothing back this long after a ping: a dead connection the browser has not noticed. */
export const PONG_TIMEOUT_MS = 5_000;
/** No `joined` this long after `join`: the join was lost; start over. */
export const JOIN_TIMEOUT_MS = 8_000;
/** In the lobby this long and no host let us in: give up (`lobby_timeout`). */
export const LOBBY_TIMEOUT_MS = 300_000;
/** No answer this long after a publisher offer: the node never heard of us; start over. */
export const OFFER_TIMEOUT_MS = 6_000;

export interface SessionOptions<T extends TrackLike> {
  wsUrl: string;
  token: string;
  /** A fresh token, for when the server refuses ours (expired, say). */
  refreshToken?: () => Promise<string>;
  createSocket: SocketFactory;
  createPeer: PeerFactory<T>;
  backoff?: BackoffOptions;
  random?: () => number;
  /** Consecutive failed reconnects before giving up. */
  maxReconnectAttempts?: number;
  pingIntervalMs?: number;
  pongTimeoutMs?: number;
  joinTimeoutMs?: number;
  /** How long to wait in the lobby for a host. */
  lobbyTimeoutMs?: number;
  offerTimeoutMs?: number;
  /** How long a move to another node may keep the old connections. */
  moveTimeoutMs?: number;
  log?: (message: string, detail?: unknown) => void;
}
