// The call's main area: the grid, or the speaker view (one tile or screen share large,
// the others in a strip).

import type { Layout, Spotlight } from "../layout/spotlight";
import { GridStage } from "./GridStage";
import { SpeakerStage } from "./SpeakerStage";
import type { StageProps } from "./StageTiles";

interface Props extends StageProps {
  layout: Layout;
  spotlight: Spotlight | null;
  /** Most tiles a grid page shows. */
  cap: number;
}

export function Stage({ layout, spotlight, cap, ...rest }: Props) {
  if (layout === "speaker" && spotlight) return <SpeakerStage {...rest} spotlight={spotlight} />;
  return <GridStage {...rest} cap={cap} />;
}
