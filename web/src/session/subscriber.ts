// The subscriber peer connection (SFU → client): the SFU offers whenever the set of
// forwarded tracks changes; we answer each offer in order.

import type { Signal } from "../protocol.gen";
import { PeerLink } from "./peerLink";
import type { TrackLike } from "./types";

export class Subscriber<T extends TrackLike> {
  constructor(
    readonly link: PeerLink<T>,
    private readonly sendSignal: (signal: Signal) => void,
  ) {}

  onOffer(sdp: string): Promise<void> {
    return this.link.run(async () => {
      const answer = await this.link.pc.answer(sdp);
      if (this.link.retired) return;
      await this.link.remoteDescriptionSet();
      this.sendSignal({ kind: "answer", sdp: answer });
    });
  }
}
