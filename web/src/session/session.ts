// The meeting session: one WebSocket to the signaling service and a pair of peer connections
// (publisher, subscriber) to the room's SFU node. It keeps the socket alive, reconnects with
// backoff and re-joins after a drop, moves to another node when the room does (`migrate`),
// waits in the lobby where guests knock, and exposes immutable state snapshots for the UI,
// notices (toasts) and host controls.

import { MAX_CHAT_CHARS, type ClientFrame, type ServerFrame } from "../protocol.gen";
import { backoffDelay, DEFAULT_BACKOFF } from "./backoff";
import { closedMessage, fatalKindOf, isForgotten, isTransient, refusalOf } from "./errors";
import { HostControls } from "./host";
import { JoinWait } from "./joinWait";
import { Keepalive } from "./keepalive";
import { PeerLinks } from "./links";
import { LocalTracks } from "./local";
import { applyGestureFrame, GestureControls, isGestureFrame } from "./gestures";
import { applyLobbyFrame, isLobbyFrame, LobbyControls } from "./lobby";
import { qualityDetails, qualityMap, UplinkMonitor } from "./quality";
import { MOVE_TIMEOUT_MS } from "./move";
import { lockNotice, mutedNotice, Notices, type Notice } from "./notices";
import { isRosterFrame } from "./roster";
import {
  JOIN_TIMEOUT_MS,
  LOBBY_TIMEOUT_MS,
  OFFER_TIMEOUT_MS,
  PING_INTERVAL_MS,
  PONG_TIMEOUT_MS,
  type SessionOptions,
} from "./options";
import { RosterOrder } from "./rosterOrder";
import { initialState, joinedState, type FatalError, type SessionState } from "./state";
import { SignalingSocket } from "./socket";
import type { LocalSource, TrackLike } from "./types";
import { ViewReporter, type DisplayedSize } from "./views";

export class Session<T extends TrackLike> {
  private state: SessionState<T> = initialState();
  private listeners = new Set<() => void>();
  private readonly opts: Required<Omit<SessionOptions<T>, "refreshToken">> &
    Pick<SessionOptions<T>, "refreshToken">;

  private token: string;
  private readonly socket: SignalingSocket;
  private readonly links: PeerLinks<T>;
  private readonly local: LocalTracks<T>;
  private remoteMuteListeners = new Set<(source: LocalSource) => void>();
  private readonly keepalive: Keepalive;
  private readonly roster = new RosterOrder<T>();
  private readonly views: ViewReporter;
  private readonly notices = new Notices();
  /** Mute, remove, lock, end: refused (nothing sent) unless we are a host. */
  readonly host = new HostControls({ state: () => this.state, send: (f) => this.send(f) });
  /** The lobby: turn it on or off, let guests in or away; refused unless we are a host. */
  readonly lobby = new LobbyControls({ state: () => this.state, send: (f) => this.send(f) });
  /** Raise or lower a hand (hosts: anyone's), react. */
  readonly gestures = new GestureControls({ state: () => this.state, send: (f) => this.send(f) });
  private readonly uplink = new UplinkMonitor(
    async () => (await this.links.publisher?.link.pc.getStats?.()) ?? null,
    (grade) => this.patch({ uplink: grade }),
  );

  private everJoined = false;
  private tokenRefreshed = false;
  private attempt = 0;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private readonly joinWait: JoinWait;

  constructor(options: SessionOptions<T>) {
    this.opts = {
      backoff: DEFAULT_BACKOFF,
      random: Math.random,
      maxReconnectAttempts: 12,
      pingIntervalMs: PING_INTERVAL_MS,
      pongTimeoutMs: PONG_TIMEOUT_MS,
      joinTimeoutMs: JOIN_TIMEOUT_MS,
      lobbyTimeoutMs: LOBBY_TIMEOUT_MS,
      offerTimeoutMs: OFFER_TIMEOUT_MS,
      moveTimeoutMs: MOVE_TIMEOUT_MS,
      log: () => {},
      ...options,
    };
    this.token = options.token;
    this.keepalive = new Keepalive(
      () => this.send({ action: "ping" }),
      () => this.recover("no answer to a ping"),
      this.opts.pingIntervalMs,
      this.opts.pongTimeoutMs,
    );
    this.joinWait = new JoinWait({
      joinTimeoutMs: this.opts.joinTimeoutMs,
      lobbyTimeoutMs: this.opts.lobbyTimeoutMs,
      // Invocations are unordered and the server may lose one: never wait forever.
      lost: () => this.recover("no answer to join"),
      notAdmitted: () => this.fail({ kind: "lobby_timeout", message: "No one let you in." }),
    });
    const log = this.opts.log;
    this.socket = new SignalingSocket(this.opts.createSocket, log);
    this.views = new ViewReporter({
      canSend: () => this.state.status === "joined",
      send: (tracks) => this.send({ action: "view", tracks }),
    });
    this.local = new LocalTracks<T>({
      publisher: () => this.links.publisher,
      joined: () => this.state.status === "joined",
      sendMute: (track_id, muted) => this.send({ action: "mute", track_id, muted }),
      remoteMuted: (source) => {
        for (const l of this.remoteMuteListeners) l(source);
      },
      log,
    });
    this.links = new PeerLinks<T>(
      {
        state: () => this.state,
        patch: (p) => this.patch(p),
        signal: (role, signal) => this.send({ action: "signal", role, signal }),
        publishAll: (pub) => {
          this.local.forgetAnnounced();
          this.local.publishAll(pub);
        },
        negotiated: () => this.local.announceMutedPublications(),
        moved: () => this.views.reset(),
        recover: (why) => this.recover(why),
        log,
      },
      this.opts.createPeer,
      { offerTimeoutMs: this.opts.offerTimeoutMs, moveTimeoutMs: this.opts.moveTimeoutMs },
    );
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

  /** Something to tell the person: a host muted them, the meeting was locked, … */
  onNotice = (listener: (notice: Notice) => void): (() => void) => this.notices.subscribe(listener);

  private setState(next: SessionState<T>): void {
    if (next === this.state) return;
    if (next.media !== this.state.media) {
      const video = Object.entries(next.media).filter(([, m]) => m.track.kind === "video");
      this.views.setTracks(video.map(([id]) => id));
    }
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
    this.patch({ status: "left", media: {}, participants: [], moving: false });
  }

  // ---- local media ------------------------------------------------------------------

  /**
   * Sets the track for a source. A source already published gets `replaceTrack` (no
   * renegotiation; `null` sends nothing); a new one is added and offered.
   */
  setLocalTrack(source: LocalSource, track: T | null): void {
    this.local.set(source, track);
  }

  /** Stops publishing a source (screen share ended): renegotiates. */
  removeLocalTrack(source: LocalSource): void {
    this.local.remove(source);
  }

  /** Mutes or unmutes a source and tells the room, for the indicators. */
  setMuted(source: LocalSource, muted: boolean): void {
    this.local.setMuted(source, muted);
  }

  /**
   * How the UI shows remote video now, by track id, in device pixels (adaptive stream).
   * Received video tracks missing from it are reported as not displayed.
   */
  setTrackViews(displayed: ReadonlyMap<string, DisplayedSize>): void {
    this.views.setDisplayed(displayed);
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
    this.socket.open(this.wsUrlWithToken(), {
      open: () => {
        this.roster.opened();
        // What a host hears of the lobby is this connection's news: the old one's knocks
        // may have been answered since.
        this.patch({ knocks: [], lobby: false });
        this.send({ action: "join" });
        this.keepalive.start();
        this.joinWait.sent();
      },
      message: (data) => this.onMessage(data),
      closed: (opened) => this.onSocketClosed(opened),
    });
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
          // Removed by a host: the socket can only refuse us; the token endpoint says why.
          const refused = refusalOf(e);
          if (refused) this.fail(refused);
          else this.scheduleReconnect();
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
    this.patch({ status: "reconnecting", reconnectAttempt: this.attempt, media: {}, moving: false });
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }

  /** Something is stuck or lost: drop the socket and re-join through the backoff path. */
  private recover(why: string): void {
    this.opts.log(`${why}; re-joining`);
    this.reconnectNow();
  }

  /** Drops the socket and re-joins, e.g. when a peer connection failed. */
  private reconnectNow(): void {
    this.socket.close();
    this.dropMedia();
    this.scheduleReconnect();
  }

  private send(frame: ClientFrame): void {
    this.socket.send(frame);
  }

  private fail(fatal: FatalError): void {
    this.teardown();
    this.patch({ status: "failed", fatal, media: {}, reconnectAttempt: 0, moving: false });
  }

  /** Closes socket, peers and timers. */
  private teardown(): void {
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.joinWait.done();
    this.socket.close();
    this.dropMedia();
  }

  /** Closes every peer connection and stops the socket's timers. */
  private dropMedia(): void {
    this.keepalive.stop();
    this.uplink.stop();
    this.views.stop();
    this.joinWait.dropped();
    this.links.close();
  }

  // ---- server frames ----------------------------------------------------------------

  private onMessage(data: string): void {
    // Any frame at all shows the socket is alive.
    this.keepalive.alive();
    let frame: ServerFrame;
    try {
      frame = JSON.parse(data) as ServerFrame;
    } catch {
      this.opts.log("unparseable frame", data);
      return;
    }
    if (isRosterFrame(frame)) {
      if (frame.type === "track_unsupported") this.opts.log(`cannot receive ${frame.track_id}: ${frame.message}`);
      this.setState(this.roster.apply(this.state, frame));
      if (frame.type === "track_published" && frame.participant_id === this.state.self?.id) {
        this.local.correct(frame.track.id, frame.track.muted);
      }
      const self = this.state.self;
      if (frame.type === "mute_changed" && frame.participant_id === self?.id) {
        const source = this.local.onServerMute(frame.track_id, frame.muted);
        // News only when a host's mute turned something off (not our own echo).
        if (source && frame.by && frame.by !== self.id) {
          this.notices.emit(mutedNotice(this.state, frame.by, source));
        }
      }
      // Who is here and what they send decides when a move is complete.
      this.links.check();
      return;
    }
    if (isGestureFrame(frame)) {
      const { state, notice } = applyGestureFrame(this.state, frame, Date.now());
      this.setState(state);
      if (notice) this.notices.emit(notice);
      return;
    }
    if (isLobbyFrame(frame)) {
      const { state, notice } = applyLobbyFrame(this.state, frame);
      this.setState(state);
      if (notice) this.notices.emit(notice);
      return;
    }
    switch (frame.type) {
      case "joined":
        this.attempt = 0;
        this.tokenRefreshed = false;
        this.everJoined = true;
        this.joinWait.done();
        this.dropMedia();
        this.keepalive.start();
        this.links.start(frame.ice_servers);
        this.setState(this.roster.joined(joinedState(this.state, frame.participant, frame.participants)));
        this.uplink.start();
        // A new node has heard none of our views.
        this.views.reset();
        return;
      case "waiting_in_lobby":
        // Our join was heard (no re-join for want of `joined`): a host answers it now.
        this.attempt = 0;
        this.joinWait.waiting();
        this.patch({ status: "lobby", reconnectAttempt: 0 });
        return;
      case "migrate":
        if (this.state.status === "joined") {
          this.links.migrate(frame.reason);
          this.views.reset();
        } else this.opts.log(`migrate (${frame.reason}) before joining; ignored`);
        return;
      case "meeting_locked":
        this.patch({ locked: frame.locked });
        this.notices.emit(lockNotice(this.state, frame.locked, frame.by));
        return;
      case "connection_quality":
        this.patch({ quality: qualityMap(frame), qualityDetail: qualityDetails(frame) });
        return;
      case "publisher_layers":
        this.links.publisher?.setLayers(frame.track_id, frame.rids);
        return;
      case "offer":
      case "answer":
      case "candidate":
        this.links.onSignal(frame);
        return;
      case "error": {
        this.opts.log(`server error ${frame.code}: ${frame.message}`);
        const kind = fatalKindOf(frame.code);
        if (kind) this.fail({ kind, message: frame.message });
        else if (isForgotten(frame.code)) this.recover("the server lost our connection");
        // Once joined, a failed frame (a mute, a ping) costs nothing; before, it may have
        // been our join, so try again rather than wait.
        else if (isTransient(frame.code) && this.state.status !== "joined") {
          this.recover("the server could not take our join");
        } else this.notices.error(frame.code, frame.message);
        return;
      }
      case "room_closed":
        this.fail({
          kind: "room_closed",
          message: closedMessage(frame.reason),
          closeReason: frame.reason,
        });
        return;
      case "pong":
        return;
    }
  }
}
