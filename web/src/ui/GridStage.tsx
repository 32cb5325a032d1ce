// Grid layout: equal tiles sized to fill the stage, at most `cap` a page. Tiles on other
// pages are not rendered, so the node sends nothing for their video.

import { useRef, useState } from "react";
import { pageOf } from "../layout/paging";
import { Icon } from "./icons";
import { gridLayout, type ShareModel, type TileModel } from "./model";
import { ShareView, shareKey, TileList, useSize, type StageProps } from "./StageTiles";

const GAP = 8;

type Item =
  | { kind: "share"; share: ShareModel<MediaStreamTrack> }
  | { kind: "tile"; tile: TileModel<MediaStreamTrack> };

export function GridStage(props: StageProps & { cap: number }) {
  const ref = useRef<HTMLDivElement>(null);
  const { w, h } = useSize(ref);
  const [requested, setPage] = useState(0);
  const items: Item[] = [
    ...props.shares.map((share) => ({ kind: "share" as const, share })),
    ...props.tiles.map((tile) => ({ kind: "tile" as const, tile })),
  ];
  const { items: visible, page, pageCount } = pageOf(items, props.cap, requested);
  const { cols, tileWidth } = gridLayout(visible.length, w, h, GAP);
  // Flex-wrap rather than CSS grid, so an incomplete last row is centred, as in Meet.
  const tw = tileWidth || 320;
  const style = { width: cols * tw + (cols - 1) * GAP, "--tile-w": `${tw}px` } as React.CSSProperties;
  const tiles = visible.flatMap((i) => (i.kind === "tile" ? [i.tile] : []));
  return (
    <div className="stage stage-grid">
      <div className="grid-area" ref={ref}>
        <div className="grid" style={style}>
          {visible.map((i) => (i.kind === "share" ? <ShareView key={shareKey(i.share)} share={i.share} large={false} /> : null))}
          <TileList {...props} tiles={tiles} />
        </div>
      </div>
      {pageCount > 1 && (
        <nav className="pager" aria-label="Grid pages">
          <button
            type="button"
            className="icon-btn"
            aria-label="Previous page"
            disabled={page === 0}
            onClick={() => setPage(page - 1)}
          >
            <Icon name="chevronLeft" />
          </button>
          <span role="status">
            Page {page + 1} of {pageCount}
          </span>
          <button
            type="button"
            className="icon-btn"
            aria-label="Next page"
            disabled={page >= pageCount - 1}
            onClick={() => setPage(page + 1)}
          >
            <Icon name="chevronRight" />
          </button>
        </nav>
      )}
    </div>
  );
}
