// The meeting session: one WebSocket to the signaling service and two peer connections
// (publisher, subscriber) per join. It keeps the socket alive, reconnects with backoff and
// re-joins after a drop, and exposes immutable state snapshots for the UI.

import {
  MAX_CHAT_CHARS,
  type ClientFrame,
  type ErrorCode,
  type IceServer,
  type PeerRole,
  type ServerFrame,
  type Signal,
} from "../protocol.gen";
import { backoffDelay, DEFAULT_BACKOFF, type BackoffOptions } from "./backoff";
import { PeerLink } from "./peerLink";
import { Publisher } from "./publisher";
import { applyRosterFrame, isRosterFrame } from "./roster";
import { initialState, type FatalError, type FatalKind, type SessionState } from "./state";
import { Subscriber } from "./subscriber";
import type { LocalSource, PeerFactory, SocketFactory, SocketLike, TrackLike } from "./types";

/** Under API Gateway's 10-minute idle timeout. */
export const PING_INTERVAL_MS = 5 * 60 * 1000;
/** A ping unanswered this long means a dead connection the browser has not noticed. */
export const PONG_TIMEOUT_MS = 20_000;

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
  log?: (message: string, detail?: unknown) => void;
}

interface LocalTrack<T> {
  track: T | null;
  muted: boolean;
}

const TOKEN_ERRORS: ErrorCode[] = [
  "token_missing",
  "token_malformed",
  "token_invalid_signature",
  "token_wrong_algorithm",
  "token_expired",
  "token_not_yet_valid",
  "token_wrong_room",
];

function fatalKindOf(code: ErrorCode): FatalKind | null {
  if (TOKEN_ERRORS.includes(code)) return "invalid_token";
  switch (code) {
    case "room_full":
      return "room_full";
    case "room_not_found":
      return "room_not_found";
    case "replaced":
      return "replaced";
    case "no_node_available":
      return "no_node";
    default:
      return null;
  }
}

export class Session<T extends TrackLike> {
  private state: SessionState<T> = initialState();
  private listeners = new Set<() => void>();
  private readonly opts: Required<Omit<SessionOptions<T>, "refreshToken">> &
    Pick<SessionOptions<T>, "refreshToken">;

  private token: string;
  private socket: SocketLike | null = null;
  private publisher: Publisher<T> | null = null;
  private subscriber: Subscriber<T> | null = null;
  private local = new Map<LocalSource, LocalTrack<T>>();
  /** Published ids whose mute state the room has heard. */
  private announced = new Set<string>();
  private remoteMuteListeners = new Set<(source: LocalSource) => void>();

  private everJoined = false;
  private tokenRefreshed = false;
  private attempt = 0;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private pingTimer: ReturnType<typeof setInterval> | null = null;
  private pongTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(options: SessionOptions<T>) {
    this.opts = {
      backoff: DEFAULT_BACKOFF,
      random: Math.random,
      maxReconnectAttempts: 12,
      pingIntervalMs: PING_INTERVAL_MS,
      pongTimeoutMs: PONG_TIMEOUT_MS,
      log: () => {},
      ...options,
    };
    this.token = options.token;
  }

  // ---- observable state -------------------------------------------------------------

  getState = (): SessionState<T> => this.state;

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  /**
   * Called when the server muted one of our tracks (a remote mute): the session has
   * already turned it off; the UI should show it off too (mic off, camera off).
   */
  onRemoteMute = (listener: (source: LocalSource) => void): (() => void) => {
    this.remoteMuteListeners.add(listener);
    return () => {
      this.remoteMuteListeners.delete(listener);
    };
  };

  private setState(next: SessionState<T>): void {
    if (next === this.state) return;
    this.state = next;
    for (const l of this.listeners) l();
  }

  private patch(p: Partial<SessionState<T>>): void {
    this.setState({ ...this.state, ...p });
  }

  // ---- lifecycle --------------------------------------------------------------------

  start(): void {
    if (this.state.status !== "idle") return;
    this.patch({ status: "connecting" });
    this.connect();
  }

  /** Starts over after a fatal error that may pass (no media server, lost connection). */
  retry(): void {
    if (this.state.status !== "failed") return;
    this.attempt = 0;
    this.tokenRefreshed = false;
    this.everJoined = false;
    this.patch({ status: "connecting", fatal: null, reconnectAttempt: 0 });
    this.connect();
  }

  leave(): void {
    if (this.state.status === "left") return;
    this.send({ action: "leave" });
    this.teardown();
    this.patch({ status: "left", media: {}, participants: [] });
  }

  // ---- local media ------------------------------------------------------------------

  /**
   * Sets the track for a source. A source already published gets `replaceTrack` (no
   * renegotiation; `null` sends nothing); a new one is added and offered.
   */
  setLocalTrack(source: LocalSource, track: T | null): void {
    const entry = this.local.get(source);
    const muted = entry?.muted ?? false;
    this.local.set(source, { track, muted });
    if (track) track.enabled = !muted;
    const pub = this.publisher;
    if (!pub) return;
    if (pub.has(source)) {
      pub.replace(source, track).catch((e) => this.opts.log("replaceTrack failed", e));
    } else if (track) {
      pub.publish(source, track);
    }
  }

  /** Stops publishing a source (screen share ended): renegotiates. */
  removeLocalTrack(source: LocalSource): void {
    this.local.delete(source);
    this.publisher?.unpublish(source);
  }

  /** Mutes or unmutes a source and tells the room, for the indicators. */
  setMuted(source: LocalSource, muted: boolean): void {
    const entry = this.local.get(source) ?? { track: null, muted };
    entry.muted = muted;
    this.local.set(source, entry);
    if (entry.track) entry.track.enabled = !muted;
    const id = this.publisher?.publishedId(source);
    if (id && this.state.status === "joined") {
      this.send({ action: "mute", track_id: id, muted });
      this.announced.add(id);
    }
  }

  sendChat(text: string): boolean {
    const trimmed = text.trim();
    if (!trimmed || this.state.status !== "joined") return false;
    this.send({ action: "chat", text: [...trimmed].slice(0, MAX_CHAT_CHARS).join("") });
    return true;
  }

  // ---- connection -------------------------------------------------------------------

  private wsUrlWithToken(): string {
    const sep = this.opts.wsUrl.includes("?") ? "&" : "?";
    return `${this.opts.wsUrl}${sep}token=${encodeURIComponent(this.token)}`;
  }

  private connect(): void {
    this.retryTimer = null;
    let opened = false;
    const socket = this.opts.createSocket(this.wsUrlWithToken());
    this.socket = socket;
    socket.onopen = () => {
      opened = true;
      this.send({ action: "join" });
      this.startPing();
    };
    socket.onmessage = (data) => this.onMessage(data);
    socket.onclose = () => {
      if (this.socket !== socket) return;
      this.socket = null;
      this.onSocketClosed(opened);
    };
  }

  private onSocketClosed(opened: boolean): void {
    if (this.state.status === "left" || this.state.status === "failed") return;
    this.dropMedia();
    if (!opened && !this.tokenRefreshed && this.opts.refreshToken) {
      // Refused before opening: most likely the token (the upgrade answers 401). Try once
      // with a fresh one.
      this.tokenRefreshed = true;
      this.opts
        .refreshToken()
        .then((t) => {
          this.token = t;
          if (this.state.status !== "left" && this.state.status !== "failed") this.connect();
        })
        .catch((e) => {
          this.opts.log("token refresh failed", e);
          this.scheduleReconnect();
        });
      return;
    }
    if (!opened && !this.everJoined) {
      this.fail({ kind: "invalid_token", message: "The server refused this meeting link." });
      return;
    }
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    this.attempt += 1;
    if (this.attempt > this.opts.maxReconnectAttempts) {
      this.fail({ kind: "connection_lost", message: "Lost the connection to the meeting." });
      return;
    }
    const delay = backoffDelay(this.attempt, this.opts.backoff, this.opts.random);
    this.opts.log(`reconnecting in ${delay} ms (attempt ${this.attempt})`);
    this.patch({ status: "reconnecting", reconnectAttempt: this.attempt, media: {} });
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }

  /** Drops the socket and re-joins, e.g. when a peer connection failed. */
  private reconnectNow(): void {
    const s = this.socket;
    this.socket = null;
    if (s) {
      s.onclose = null;
      s.onmessage = null;
      s.close();
    }
    this.dropMedia();
    this.scheduleReconnect();
  }

  private startPing(): void {
    this.stopPing();
    this.pingTimer = setInterval(() => {
      this.send({ action: "ping" });
      this.pongTimer ??= setTimeout(() => {
        this.pongTimer = null;
        this.opts.log("no pong; reconnecting");
        this.reconnectNow();
      }, this.opts.pongTimeoutMs);
    }, this.opts.pingIntervalMs);
  }

  private stopPing(): void {
    if (this.pingTimer !== null) clearInterval(this.pingTimer);
    this.pingTimer = null;
    this.gotPong();
  }

  private gotPong(): void {
    if (this.pongTimer !== null) clearTimeout(this.pongTimer);
    this.pongTimer = null;
  }

  private send(frame: ClientFrame): void {
    try {
      this.socket?.send(JSON.stringify(frame));
    } catch (e) {
      this.opts.log("send failed", e);
    }
  }

  private sendSignal(role: PeerRole, signal: Signal): void {
    this.send({ action: "signal", role, signal });
  }

  private fail(fatal: FatalError): void {
    this.teardown();
    this.patch({ status: "failed", fatal, media: {}, reconnectAttempt: 0 });
  }

  /** Closes socket, peers and timers. */
  private teardown(): void {
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    const s = this.socket;
    this.socket = null;
    if (s) {
      s.onclose = null;
      s.onmessage = null;
      s.close();
    }
    this.dropMedia();
  }

  private dropMedia(): void {
    this.stopPing();
    this.publisher?.link.close();
    this.subscriber?.link.close();
    this.publisher = null;
    this.subscriber = null;
    this.announced.clear();
  }

  // ---- server frames ----------------------------------------------------------------

  private onMessage(data: string): void {
    let frame: ServerFrame;
    try {
      frame = JSON.parse(data) as ServerFrame;
    } catch {
      this.opts.log("unparseable frame", data);
      return;
    }
    if (isRosterFrame(frame)) {
      this.setState(applyRosterFrame(this.state, frame));
      if (frame.type === "track_published" && frame.participant_id === this.state.self?.id) {
        this.announceMute(frame.track.id, frame.track.muted);
      }
      if (frame.type === "mute_changed" && frame.participant_id === this.state.self?.id) {
        this.onSelfMuteChanged(frame.track_id, frame.muted);
      }
      return;
    }
    switch (frame.type) {
      case "joined":
        this.onJoined(frame.ice_servers);
        this.setState({
          ...this.state,
          status: "joined",
          self: frame.participant,
          participants: frame.participants,
          media: {},
          reconnectAttempt: 0,
          fatal: null,
        });
        return;
      case "offer":
        if (frame.role === "subscriber") void this.subscriber?.onOffer(frame.sdp);
        return;
      case "answer":
        if (frame.role === "publisher") void this.publisher?.onAnswer(frame.sdp);
        return;
      case "candidate": {
        const link = frame.role === "publisher" ? this.publisher?.link : this.subscriber?.link;
        void link?.addRemoteCandidate(frame.candidate);
        return;
      }
      case "error": {
        const kind = fatalKindOf(frame.code);
        this.opts.log(`server error ${frame.code}: ${frame.message}`);
        if (kind) this.fail({ kind, message: frame.message });
        return;
      }
      case "room_closed":
        this.fail({
          kind: "room_closed",
          message: "The meeting has ended.",
          closeReason: frame.reason,
        });
        return;
      case "pong":
        this.gotPong();
        return;
    }
  }

  private onJoined(iceServers: IceServer[]): void {
    this.attempt = 0;
    this.tokenRefreshed = false;
    this.everJoined = true;
    this.dropMedia();
    this.startPing();

    const onError = (role: PeerRole, e: unknown) => this.opts.log(`${role} peer error`, e);
    const pubPc = this.opts.createPeer(iceServers);
    const subPc = this.opts.createPeer(iceServers);
    const publisher = new Publisher<T>(
      new PeerLink("publisher", pubPc, onError),
      (s) => this.sendSignal("publisher", s),
      () => this.announceMutedPublications(),
    );
    const subscriber = new Subscriber<T>(
      new PeerLink("subscriber", subPc, onError),
      (s) => this.sendSignal("subscriber", s),
    );
    this.publisher = publisher;
    this.subscriber = subscriber;

    pubPc.onicecandidate = (c) =>
      this.sendSignal("publisher", { kind: "candidate", candidate: c });
    subPc.onicecandidate = (c) =>
      this.sendSignal("subscriber", { kind: "candidate", candidate: c });
    subPc.ontrack = (track, streamId) => {
      this.patch({
        media: { ...this.state.media, [track.id]: { track, participantId: streamId } },
      });
    };
    const onState = (state: string) => {
      if (state === "failed" && this.publisher === publisher) {
        this.opts.log("peer connection failed; re-joining");
        this.reconnectNow();
      }
    };
    pubPc.onstatechange = onState;
    subPc.onstatechange = onState;

    // Publish everything we have; one offer covers them all.
    for (const [source, { track }] of this.local) {
      if (track) publisher.publish(source, track);
    }
  }

  /** After an answer: tell the room about tracks that start out muted. */
  private announceMutedPublications(): void {
    for (const [source, { muted }] of this.local) {
      const id = this.publisher?.publishedId(source);
      if (id && muted && !this.announced.has(id)) {
        this.announced.add(id);
        this.send({ action: "mute", track_id: id, muted: true });
      }
    }
  }

  /**
   * The server changed the mute state of one of our tracks. A mute turns the mic or camera
   * off as if the user had; an unmute is never applied (only the user turns the mic back
   * on), and if we are still muted we tell the room so, keeping the indicators honest.
   */
  private onSelfMuteChanged(trackId: string, muted: boolean): void {
    if (!muted) {
      this.announceMute(trackId, false);
      return;
    }
    for (const source of ["microphone", "camera"] as const) {
      if (this.publisher?.publishedId(source) !== trackId) continue;
      if (this.local.get(source)?.muted) return;
      this.setMuted(source, true);
      for (const l of this.remoteMuteListeners) l(source);
      return;
    }
  }

  /** The server's view of our track disagrees with ours: correct it. */
  private announceMute(trackId: string, serverMuted: boolean): void {
    for (const [source, { muted }] of this.local) {
      if (this.publisher?.publishedId(source) === trackId && muted !== serverMuted) {
        this.send({ action: "mute", track_id: trackId, muted });
      }
    }
  }
}
