// Speaker view: one participant or screen share large (see chooseSpotlight), everyone else
// in a strip beside it.

import type { Spotlight } from "../layout/spotlight";
import { ShareView, shareKey, TileList, type StageProps } from "./StageTiles";

export function SpeakerStage(props: StageProps & { spotlight: Spotlight }) {
  const { spotlight, shares, tiles } = props;
  const mainShare = spotlight.kind === "share" ? shares[spotlight.index] : undefined;
  const mainTile = spotlight.kind === "tile" ? tiles.find((t) => t.id === spotlight.id) : undefined;
  const otherShares = shares.filter((s) => s !== mainShare);
  const others = tiles.filter((t) => t !== mainTile);
  return (
    <div className="stage stage-speaker">
      <div className="spotlight" data-testid="spotlight">
        {mainShare && <ShareView share={mainShare} large />}
        {mainTile && <TileList {...props} tiles={[mainTile]} large />}
      </div>
      {(others.length > 0 || otherShares.length > 0) && (
        <div className="filmstrip" role="region" aria-label="Other participants">
          {otherShares.map((s) => (
            <ShareView key={shareKey(s)} share={s} large={false} />
          ))}
          <TileList {...props} tiles={others} />
        </div>
      )}
    </div>
  );
}
