// Adapters from the browser's WebSocket and RTCPeerConnection to the session's interfaces.

import type { IceCandidate, IceServer } from "../protocol.gen";
import { activateEncodings } from "./dynacast";
import { preferCodec } from "./encodings";
import type { PeerLike, PublishOptions, SenderLike, SocketLike } from "./types";

export function browserSocket(url: string): SocketLike {
  const ws = new WebSocket(url);
  let closed = false;
  const adapter: SocketLike = {
    send: (data) => ws.send(data),
    close: () => ws.close(),
    onopen: null,
    onmessage: null,
    onclose: null,
  };
  ws.onopen = () => adapter.onopen?.();
  ws.onmessage = (ev) => {
    if (typeof ev.data === "string") adapter.onmessage?.(ev.data);
  };
  // `error` is always followed by `close`, but guard anyway so onclose fires once.
  const closeOnce = () => {
    if (closed) return;
    closed = true;
    adapter.onclose?.();
  };
  ws.onclose = closeOnce;
  ws.onerror = closeOnce;
  return adapter;
}

class BrowserSender implements SenderLike<MediaStreamTrack> {
  constructor(readonly rtc: RTCRtpSender) {}

  replaceTrack(track: MediaStreamTrack | null): Promise<void> {
    return this.rtc.replaceTrack(track);
  }

  async setActiveLayers(rids: string[]): Promise<void> {
    const params = this.rtc.getParameters();
    const encodings = activateEncodings(params.encodings, rids);
    if (!encodings) return;
    params.encodings = encodings;
    await this.rtc.setParameters(params);
  }
}

/** Puts `mimeType` first where the browser lets us choose (not every browser does). */
function setPreferredCodec(t: RTCRtpTransceiver, kind: string, mimeType: string): void {
  const codecs = typeof RTCRtpReceiver.getCapabilities === "function" ? RTCRtpReceiver.getCapabilities(kind)?.codecs : undefined;
  if (!codecs || typeof t.setCodecPreferences !== "function") return;
  try {
    t.setCodecPreferences(preferCodec(codecs, mimeType));
  } catch {
    // A codec list the browser refuses: its own order is fine too.
  }
}

/** A peer factory for browsers; `"relay"` keeps every candidate on TURN. */
export function browserPeerFactory(iceTransportPolicy: RTCIceTransportPolicy = "all") {
  return (iceServers: IceServer[]) => browserPeer(iceServers, iceTransportPolicy);
}

export function browserPeer(
  iceServers: IceServer[],
  iceTransportPolicy: RTCIceTransportPolicy = "all",
): PeerLike<MediaStreamTrack> {
  const pc = new RTCPeerConnection({ iceServers, iceTransportPolicy, bundlePolicy: "max-bundle" });
  // One local stream, so every published track carries the same msid stream id.
  const localStream = new MediaStream();
  const peer: PeerLike<MediaStreamTrack> = {
    addTrack(track, options: PublishOptions = {}) {
      const t = pc.addTransceiver(track, {
        direction: "sendonly",
        streams: [localStream],
        sendEncodings: options.encodings,
      });
      if (options.preferredCodec) setPreferredCodec(t, track.kind, options.preferredCodec);
      return new BrowserSender(t.sender);
    },
    removeTrack(sender: SenderLike<MediaStreamTrack>) {
      pc.removeTrack((sender as BrowserSender).rtc);
    },
    async offer() {
      await pc.setLocalDescription(await pc.createOffer());
      return pc.localDescription!.sdp;
    },
    async answer(offerSdp) {
      await pc.setRemoteDescription({ type: "offer", sdp: offerSdp });
      await pc.setLocalDescription(await pc.createAnswer());
      return pc.localDescription!.sdp;
    },
    async acceptAnswer(answerSdp) {
      await pc.setRemoteDescription({ type: "answer", sdp: answerSdp });
    },
    async addIceCandidate(c: IceCandidate) {
      await pc.addIceCandidate(c);
    },
    close: () => pc.close(),
    getStats: async () => (await pc.getStats()).values() as Iterable<Record<string, unknown>>,
    onicecandidate: null,
    ontrack: null,
    onstatechange: null,
  };
  pc.onicecandidate = (ev) => {
    const c = ev.candidate;
    if (!c || !c.candidate) return; // end of candidates
    peer.onicecandidate?.({
      candidate: c.candidate,
      sdpMid: c.sdpMid ?? undefined,
      sdpMLineIndex: c.sdpMLineIndex ?? undefined,
    });
  };
  pc.ontrack = (ev) => peer.ontrack?.(ev.track, ev.streams[0]?.id);
  pc.onconnectionstatechange = () => peer.onstatechange?.(pc.connectionState);
  return peer;
}
