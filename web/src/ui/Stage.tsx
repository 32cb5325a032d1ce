// The call's main area: a grid of tiles sized to fill the space, or, while someone shares
// their screen, the share large with the tiles in a strip beside it.

import { useLayoutEffect, useRef, useState } from "react";
import { gridLayout, type ShareModel, type TileModel } from "./model";
import { Tile } from "./Tile";
import { VideoView } from "./VideoView";

function useSize(ref: React.RefObject<HTMLElement | null>) {
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

function Tiles({ tiles, speaking }: { tiles: TileModel<MediaStreamTrack>[]; speaking: Set<string> }) {
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
        />
      ))}
    </>
  );
}

const GAP = 8;

interface Props {
  tiles: TileModel<MediaStreamTrack>[];
  shares: ShareModel<MediaStreamTrack>[];
  speaking: Set<string>;
}

export function Stage({ tiles, shares, speaking }: Props) {
  const ref = useRef<HTMLDivElement>(null);
  const { w, h } = useSize(ref);
  const share = shares[0];
  if (share) {
    const who = share.isSelf ? "You are presenting" : `${share.name} is presenting`;
    return (
      <div className="stage stage-presenting" ref={ref}>
        <div
          className="presentation"
          data-testid="screen-share"
          data-name={share.name}
          role="group"
          aria-label={`${share.name}'s screen`}
        >
          <VideoView track={share.track} fit="contain" label={`${share.name}'s screen`} />
          <div className="tile-name">{who}</div>
        </div>
        <div className="filmstrip">
          <Tiles tiles={tiles} speaking={speaking} />
        </div>
      </div>
    );
  }
  const { cols, tileWidth } = gridLayout(tiles.length, w, h, GAP);
  // Flex-wrap rather than CSS grid, so an incomplete last row is centred, as in Meet.
  const tw = tileWidth || 320;
  const style = { width: cols * tw + (cols - 1) * GAP, "--tile-w": `${tw}px` } as React.CSSProperties;
  return (
    <div className="stage" ref={ref}>
      <div className="grid" style={style}>
        <Tiles tiles={tiles} speaking={speaking} />
      </div>
    </div>
  );
}
