// The pieces every layout is made of: participant tiles and screen-share tiles.

import { useLayoutEffect, useState } from "react";
import type { ShareModel, TileModel } from "./model";
import { Tile } from "./Tile";
import { VideoView } from "./VideoView";

type Track = MediaStreamTrack;

export interface StageProps {
  tiles: TileModel<Track>[];
  shares: ShareModel<Track>[];
  speaking: Set<string>;
  pinnedId: string | null;
  onTogglePin(participantId: string): void;
}

/** A box's size in CSS pixels, kept current. */
export function useSize(ref: React.RefObject<HTMLElement | null>) {
  const [size, setSize] = useState({ w: 0, h: 0 });
  useLayoutEffect(() => {
    const el = ref.current;
    if (!el) return;
    const measure = () => setSize({ w: el.clientWidth, h: el.clientHeight });
    measure();
    const ro = new ResizeObserver(measure);
    ro.observe(el);
    return () => ro.disconnect();
  }, [ref]);
  return size;
}

type TileListProps = Omit<StageProps, "shares"> & { large?: boolean };

export function TileList({ tiles, speaking, pinnedId, onTogglePin, large }: TileListProps) {
  return (
    <>
      {tiles.map((t) => (
        <Tile
          key={t.id}
          participantId={t.id}
          name={t.name}
          isSelf={t.isSelf}
          video={t.video}
          audioMuted={t.audioMuted}
          speaking={speaking.has(t.id)}
          pinned={t.id === pinnedId}
          onTogglePin={() => onTogglePin(t.id)}
          notice={t.notice}
          large={large}
          handPlace={t.handPlace}
          quality={t.quality}
          qualityDetail={t.qualityDetail}
          reactions={t.reactions}
        />
      ))}
    </>
  );
}

export const shareKey = (s: ShareModel<Track>) => `${s.participantId}:${s.track.id}`;

/** A screen share: large (`presentation`) or as one tile among others. */
export function ShareView({ share, large }: { share: ShareModel<Track>; large: boolean }) {
  const who = share.isSelf ? "You are presenting" : `${share.name} is presenting`;
  return (
    <div
      className={large ? "presentation" : "tile share-tile"}
      data-testid="screen-share"
      data-name={share.name}
      role="group"
      aria-label={`${share.name}'s screen`}
    >
      <VideoView track={share.track} fit="contain" label={`${share.name}'s screen`} remote={!share.isSelf} />
      {share.notice && (
        <div className="tile-notice" role="status" data-testid="track-unsupported">
          {share.notice}
        </div>
      )}
      <div className="tile-name">{who}</div>
    </div>
  );
}
