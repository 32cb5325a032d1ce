// One participant: video (or their initials when the camera is off), name, mic state, a
// Pin button, a notice when their video cannot be shown in this browser, and their raised
// hand, connection indicator and reactions.

import type { Quality } from "../protocol.gen";
import type { Reaction } from "../session";
import { Avatar } from "./Avatar";
import { FloatingReactions, HandBadge, QualityIndicator } from "./Gestures";
import { Icon } from "./icons";
import { VideoView } from "./VideoView";

interface Props {
  name: string;
  isSelf: boolean;
  video: MediaStreamTrack | null;
  audioMuted: boolean;
  participantId: string;
  speaking: boolean;
  pinned: boolean;
  onTogglePin(): void;
  /** Why their video cannot be shown (an unsupported codec), if so. */
  notice?: string;
  /** Shown large (speaker view). */
  large?: boolean;
  /** Place in the raised-hand line, when their hand is up. */
  handPlace?: number;
  quality?: Quality;
  /** What the node measured of the connection, for the indicator. */
  qualityDetail?: string;
  reactions?: Reaction[];
}

export function Tile(p: Props) {
  const { name, isSelf, video, speaking, pinned } = p;
  const label = isSelf ? `${name} (You)` : name;
  const cls = ["tile", speaking && "speaking", pinned && "pinned", p.large && "tile-large"].filter(Boolean).join(" ");
  return (
    <div
      className={cls}
      role="group"
      aria-label={label}
      data-testid="participant-tile"
      data-name={name}
      data-self={isSelf ? "true" : "false"}
      data-participant-id={p.participantId}
      data-video={video ? "on" : "off"}
      data-speaking={speaking ? "true" : "false"}
      data-pinned={pinned ? "true" : "false"}
      data-hand={p.handPlace !== undefined ? "raised" : "down"}
      data-quality={p.quality ?? "good"}
    >
      {video ? (
        <VideoView track={video} mirrored={isSelf} label={`${label} video`} remote={!isSelf} pinned={pinned} />
      ) : (
        <div className="tile-avatar" data-testid="camera-off">
          <Avatar name={name} size="lg" />
        </div>
      )}
      {p.notice && (
        <div className="tile-notice" role="status" data-testid="track-unsupported">
          <Icon name="warning" size={16} />
          <span>{p.notice}</span>
        </div>
      )}
      <div className="tile-actions">
        <button
          type="button"
          className="tile-btn"
          aria-label={pinned ? "Unpin" : "Pin"}
          aria-pressed={pinned}
          title={pinned ? `Unpin ${label}` : `Pin ${label}`}
          onClick={p.onTogglePin}
        >
          <Icon name="pin" size={18} />
        </button>
      </div>
      {p.audioMuted && (
        <div className="tile-muted" role="img" aria-label={`${name}'s microphone is muted`}>
          <Icon name="micOff" size={18} />
        </div>
      )}
      {p.handPlace !== undefined && <HandBadge name={name} place={p.handPlace} />}
      {p.reactions && <FloatingReactions reactions={p.reactions} />}
      {isSelf && p.quality === "poor" && (
        <div className="tile-unstable" role="status" data-testid="unstable-connection">
          <Icon name="warning" size={16} />
          <span>Your connection is unstable</span>
        </div>
      )}
      <div className="tile-name">
        {p.quality && p.quality !== "good" && <QualityIndicator name={name} quality={p.quality} detail={p.qualityDetail} />}
        {label}
      </div>
    </div>
  );
}
