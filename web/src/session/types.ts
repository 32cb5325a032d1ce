// Narrow interfaces over the browser's WebSocket and RTCPeerConnection, so the session
// logic runs (and is tested) without a DOM. `browser.ts` adapts the real objects.

import type { IceCandidate, IceServer, TrackSource } from "../protocol.gen";

/** The part of a MediaStreamTrack the session touches. */
export interface TrackLike {
  readonly id: string;
  readonly kind: string;
  enabled: boolean;
}

export interface SocketLike {
  send(data: string): void;
  close(): void;
  onopen: (() => void) | null;
  onmessage: ((data: string) => void) | null;
  /** Called once, whether the socket closed cleanly, failed to open, or dropped. */
  onclose: (() => void) | null;
}

export type SocketFactory = (url: string) => SocketLike;

/** A sendonly transceiver's sender. */
export interface SenderLike<T extends TrackLike> {
  replaceTrack(track: T | null): Promise<void>;
  /**
   * Dynacast: sends only the simulcast encodings named by `rids` (others get
   * `active: false`); an empty list pauses the track.
   */
  setActiveLayers(rids: string[]): Promise<void>;
}

/** One RTCRtpEncodingParameters entry we ask for when publishing. */
export interface SendEncoding {
  rid?: string;
  scaleResolutionDownBy?: number;
  maxBitrate?: number;
}

/** How to send a published track: its encodings (simulcast) and preferred codec. */
export interface PublishOptions {
  encodings?: SendEncoding[];
  /** MIME type to put first in the codec preferences, e.g. "video/VP8". */
  preferredCodec?: string;
}

export interface PeerLike<T extends TrackLike> {
  /** Adds a sendonly transceiver for `track` (publisher side). */
  addTrack(track: T, options?: PublishOptions): SenderLike<T>;
  removeTrack(sender: SenderLike<T>): void;
  /** createOffer + setLocalDescription; resolves with the local SDP. */
  offer(): Promise<string>;
  /** setRemoteDescription(offer) + createAnswer + setLocalDescription; resolves with the answer SDP. */
  answer(offerSdp: string): Promise<string>;
  /** setRemoteDescription(answer). */
  acceptAnswer(answerSdp: string): Promise<void>;
  addIceCandidate(candidate: IceCandidate): Promise<void>;
  close(): void;
  onicecandidate: ((candidate: IceCandidate) => void) | null;
  /** A remote track; `streamId` is the publishing participant's id. */
  ontrack: ((track: T, streamId: string | undefined) => void) | null;
  /** RTCPeerConnection.connectionState changes. */
  onstatechange: ((state: string) => void) | null;
  /** The connection's statistics (`getStats()`), where the peer has them. */
  getStats?(): Promise<Iterable<Record<string, unknown>>>;
}

export type PeerFactory<T extends TrackLike> = (iceServers: IceServer[]) => PeerLike<T>;

export type LocalSource = TrackSource;
