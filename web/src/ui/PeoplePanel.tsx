// Everyone in the call, with their mic state and who the hosts are. A host also gets, for
// each other person, Mute, Stop video and Remove (after a confirmation).

import { useState } from "react";
import type { ParticipantInfo } from "../protocol.gen";
import { cameraTracks, micTracks, type GestureControls, type HostControls } from "../session";
import { Avatar } from "./Avatar";
import { ConfirmDialog } from "./ConfirmDialog";
import { Icon, type IconName } from "./icons";
import type { TileModel } from "./model";
import { SidePanel } from "./SidePanel";
import { peopleOrder } from "./tileGestures";

interface Props {
  tiles: TileModel<unknown>[];
  /** The others, for what a host can still turn off. */
  participants: ParticipantInfo[];
  /** Only for a host. */
  host: HostControls | null;
  locked: boolean;
  /** Lowers a hand (ours; anyone's for a host). */
  gestures: GestureControls;
  onClose(): void;
}

/** One of a host's icon buttons on a person's row. */
function ActionButton(props: {
  label: string;
  title: string;
  icon: IconName;
  disabled?: boolean;
  onClick(): void;
}) {
  return (
    <button
      type="button"
      className="icon-btn"
      aria-label={props.label}
      title={props.title}
      disabled={props.disabled}
      onClick={props.onClick}
    >
      <Icon name={props.icon} size={20} />
    </button>
  );
}

function HostActions({ p, host, onRemove }: { p: ParticipantInfo; host: HostControls; onRemove(): void }) {
  const micOn = micTracks(p).length > 0;
  const camOn = cameraTracks(p).length > 0;
  return (
    <span className="person-actions">
      <ActionButton
        label={`Mute ${p.name}`}
        title={micOn ? `Mute ${p.name}` : `${p.name} is muted`}
        icon="micOff"
        disabled={!micOn}
        onClick={() => host.muteMic(p.id)}
      />
      <ActionButton
        label={`Stop ${p.name}'s video`}
        title={camOn ? `Stop ${p.name}'s video` : `${p.name}'s camera is off`}
        icon="camOff"
        disabled={!camOn}
        onClick={() => host.stopVideo(p.id)}
      />
      <ActionButton
        label={`Remove ${p.name} from the meeting`}
        title={`Remove ${p.name} from the meeting`}
        icon="personRemove"
        onClick={onRemove}
      />
    </span>
  );
}

export function PeoplePanel({ tiles, participants, host, locked, gestures, onClose }: Props) {
  const [removing, setRemoving] = useState<ParticipantInfo | null>(null);
  const hands = tiles.filter((t) => t.handPlace).length;
  return (
    <SidePanel title="People" onClose={onClose}>
      <p className="panel-note">In call ({tiles.length})</p>
      {locked && (
        <p className="panel-note locked-note">
          <Icon name="lock" size={16} />
          Meeting locked: no one new can join.
        </p>
      )}
      {hands > 0 && <p className="panel-note">Raised hands ({hands}), first raised first</p>}
      <ul className="people-list" data-testid="people-list">
        {peopleOrder(tiles).map((t) => {
          const p = host && !t.isSelf ? participants.find((x) => x.id === t.id) : undefined;
          return (
            <li key={t.id} className="person" data-testid="person" data-name={t.name} data-host={t.host ? "true" : "false"}>
              <Avatar name={t.name} size="sm" />
              <span className="person-name">
                {t.isSelf ? `${t.name} (You)` : t.name}
                {t.host && <span className="host-label">Host</span>}
              </span>
              {t.handPlace &&
                (t.isSelf || host ? (
                  <button
                    type="button"
                    className="icon-btn hand-btn"
                    aria-label={t.isSelf ? "Lower your hand" : `Lower ${t.name}'s hand`}
                    title="Lower hand"
                    onClick={() => gestures.lowerHand(t.id)}
                  >
                    <span aria-hidden="true">✋ {t.handPlace}</span>
                  </button>
                ) : (
                  <span className="hand-btn" role="img" aria-label={`Hand raised, number ${t.handPlace}`}>
                    <span aria-hidden="true">✋ {t.handPlace}</span>
                  </span>
                ))}
              <span className="person-mic" aria-label={t.audioMuted ? "Muted" : "Microphone on"} role="img">
                <Icon name={t.audioMuted ? "micOff" : "mic"} size={20} />
              </span>
              {host && p && <HostActions p={p} host={host} onRemove={() => setRemoving(p)} />}
            </li>
          );
        })}
      </ul>
      {host && removing && (
        <ConfirmDialog
          title={`Remove ${removing.name}?`}
          body={`${removing.name} leaves the call and can't rejoin this meeting.`}
          confirm="Remove"
          onConfirm={() => {
            host.remove(removing.id);
            setRemoving(null);
          }}
          onCancel={() => setRemoving(null)}
        />
      )}
    </SidePanel>
  );
}
