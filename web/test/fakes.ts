// In-memory stand-ins for the WebSocket and RTCPeerConnection, recording what the session
// does with them.

import type { ClientFrame, IceCandidate, ParticipantInfo, ServerFrame } from "../src/protocol.gen";
import type { SessionOptions } from "../src/session/options";
import { Session } from "../src/session/session";
import type { PeerLike, PublishOptions, SenderLike, SocketLike, TrackLike } from "../src/session/types";

export class FakeTrack implements TrackLike {
  enabled = true;
  constructor(
    readonly id: string,
    readonly kind: "audio" | "video",
  ) {}
}

export class FakeSocket implements SocketLike {
  sent: ClientFrame[] = [];
  closed = false;
  onopen: (() => void) | null = null;
  onmessage: ((data: string) => void) | null = null;
  onclose: (() => void) | null = null;
  constructor(readonly url: string) {}
  send(data: string) {
    this.sent.push(JSON.parse(data) as ClientFrame);
  }
  close() {
    this.closed = true;
  }
  // Test controls.
  open() {
    this.onopen?.();
  }
  receive(frame: ServerFrame) {
    this.onmessage?.(JSON.stringify(frame));
  }
  drop() {
    this.onclose?.();
  }
  actions(): string[] {
    return this.sent.map((f) => f.action);
  }
}

export class FakeSender implements SenderLike<FakeTrack> {
  /** Every dynacast request applied, in order. */
  layers: string[][] = [];
  constructor(
    public track: FakeTrack | null,
    readonly options: PublishOptions = {},
  ) {}
  async replaceTrack(track: FakeTrack | null) {
    this.track = track;
  }
  async setActiveLayers(rids: string[]) {
    this.layers.push(rids);
  }
}

let offerCount = 0;

export class FakePeer implements PeerLike<FakeTrack> {
  senders: FakeSender[] = [];
  removed: FakeSender[] = [];
  remoteDescriptions: { type: string; sdp: string }[] = [];
  candidates: IceCandidate[] = [];
  closed = false;
  onicecandidate: ((c: IceCandidate) => void) | null = null;
  ontrack: ((track: FakeTrack, streamId: string | undefined) => void) | null = null;
  onstatechange: ((state: string) => void) | null = null;
  addTrack(track: FakeTrack, options?: PublishOptions) {
    const s = new FakeSender(track, options);
    this.senders.push(s);
    return s;
  }
  removeTrack(sender: SenderLike<FakeTrack>) {
    this.removed.push(sender as FakeSender);
  }
  async offer() {
    return `offer-${++offerCount}`;
  }
  async answer(sdp: string) {
    this.remoteDescriptions.push({ type: "offer", sdp });
    return `answer-to-${sdp}`;
  }
  async acceptAnswer(sdp: string) {
    this.remoteDescriptions.push({ type: "answer", sdp });
  }
  async addIceCandidate(c: IceCandidate) {
    this.candidates.push(c);
  }
  close() {
    this.closed = true;
  }
}

export interface Harness {
  session: Session<FakeTrack>;
  sockets: FakeSocket[];
  peers: FakePeer[];
  /** Latest socket. */
  socket(): FakeSocket;
  /** [publisher, subscriber] of the latest join. */
  pcs(): [FakePeer, FakePeer];
  tokens: string[];
}

export function harness(opts: Partial<SessionOptions<FakeTrack>> = {}): Harness {
  const sockets: FakeSocket[] = [];
  const peers: FakePeer[] = [];
  const tokens: string[] = [];
  let n = 0;
  const session = new Session<FakeTrack>({
    wsUrl: "ws://veet.test/ws",
    token: "tok-0",
    refreshToken: async () => {
      const t = `tok-${++n}`;
      tokens.push(t);
      return t;
    },
    createSocket: (url) => {
      const s = new FakeSocket(url);
      sockets.push(s);
      return s;
    },
    createPeer: () => {
      const p = new FakePeer();
      peers.push(p);
      return p;
    },
    random: () => 0.5, // no jitter
    ...opts,
  });
  return {
    session,
    sockets,
    peers,
    tokens,
    socket: () => sockets[sockets.length - 1],
    pcs: () => [peers[peers.length - 2], peers[peers.length - 1]],
  };
}

export const grants = {
  can_publish: true,
  can_subscribe: true,
  can_publish_data: true,
  room_admin: false,
};

export function participant(id: string, name = id): ParticipantInfo {
  return { id, identity: `guest-${id}`, name, joined_at: 1, tracks: [], grants };
}

export function joined(selfId = "PA_me", others = [participant("PA_bob", "Bob")]): ServerFrame {
  return {
    type: "joined",
    room: "abc-defg-hij",
    participant: participant(selfId, "Me"),
    participants: others,
    ice_servers: [{ urls: ["stun:127.0.0.1:3478"] }],
  };
}

/** Lets queued promise chains (peer operations) run. */
/** Starts the session, opens its socket and delivers `joined`: the usual first steps. */
export function startJoined(h: Harness, frame: ServerFrame = joined()): void {
  h.session.start();
  h.socket().open();
  h.socket().receive(frame);
}

export async function flush() {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}
