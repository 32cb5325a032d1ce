// One participant: video (or their initials when the camera is off), name, mic state.

import { Avatar } from "./Avatar";
import { Icon } from "./icons";
import { VideoView } from "./VideoView";

interface Props {
  name: string;
  isSelf: boolean;
  video: MediaStreamTrack | null;
  audioMuted: boolean;
  participantId: string;
  speaking: boolean;
}

export function Tile({ name, isSelf, video, audioMuted, participantId, speaking }: Props) {
  const label = isSelf ? `${name} (You)` : name;
  return (
    <div
      className={`tile${speaking ? " speaking" : ""}`}
      role="group"
      aria-label={label}
      data-testid="participant-tile"
      data-name={name}
      data-self={isSelf ? "true" : "false"}
      data-participant-id={participantId}
      data-video={video ? "on" : "off"}
      data-speaking={speaking ? "true" : "false"}
    >
      {video ? (
        <VideoView track={video} mirrored={isSelf} label={`${label} video`} />
      ) : (
        <div className="tile-avatar" data-testid="camera-off">
          <Avatar name={name} size="lg" />
        </div>
      )}
      {audioMuted && (
        <div className="tile-muted" role="img" aria-label={`${name}'s microphone is muted`}>
          <Icon name="micOff" size={18} />
        </div>
      )}
      <div className="tile-name">{label}</div>
    </div>
  );
}
