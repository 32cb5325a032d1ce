// The bottom bar: meeting details, call controls, panels, and a host's meeting controls.

import { useEffect, useState } from "react";
import type { LayoutChoice } from "../layout/spotlight";
import { RaiseHandButton, ReactionsMenu } from "./Gestures";
import { HostMenu } from "./HostMenu";
import { Icon, type IconName } from "./icons";
import { LayoutMenu } from "./LayoutMenu";

interface ButtonProps {
  label: string;
  icon: IconName;
  onClick: () => void;
  active?: boolean;
  danger?: boolean;
  off?: boolean;
  badge?: number;
  title?: string;
  disabled?: boolean;
}

function RoundButton({ label, icon, onClick, active, danger, off, badge, title, disabled }: ButtonProps) {
  const cls = ["round-btn", danger && "danger", off && "off", active && "active"].filter(Boolean).join(" ");
  return (
    <button
      type="button"
      className={cls}
      aria-label={label}
      aria-pressed={active}
      title={title ?? label}
      onClick={onClick}
      disabled={disabled}
    >
      <Icon name={icon} />
      {!!badge && <span className="badge" aria-hidden="true">{badge > 9 ? "9+" : badge}</span>}
    </button>
  );
}

function Clock() {
  const [now, setNow] = useState(() => new Date());
  useEffect(() => {
    const t = setInterval(() => setNow(new Date()), 15_000);
    return () => clearInterval(t);
  }, []);
  return <span>{now.toLocaleTimeString([], { hour: "numeric", minute: "2-digit" })}</span>;
}

interface Props {
  code: string;
  micOn: boolean;
  cameraOn: boolean;
  presenting: boolean;
  canPresent: boolean;
  panel: "chat" | "people" | null;
  unread: number;
  participantCount: number;
  layout: LayoutChoice;
  onLayout(choice: LayoutChoice): void;
  onToggleMic(): void;
  onToggleCamera(): void;
  onTogglePresent(): void;
  onLeave(): void;
  onCopyLink(): void;
  onPanel(p: "chat" | "people"): void;
  /** Only hosts get the host controls. */
  isHost: boolean;
  locked: boolean;
  onLock(locked: boolean): void;
  lobby: boolean;
  onLobby(enabled: boolean): void;
  onEndForAll(): void;
  handRaised: boolean;
  onToggleHand(): void;
  onReact(emoji: string): void;
  onSettings(): void;
  onHelp(): void;
}

export function ControlBar(p: Props) {
  const mod = /Mac|iPhone|iPad/.test(navigator.platform) ? "⌘" : "Ctrl";
  return (
    <footer className="control-bar">
      <div className="bar-left">
        <Clock />
        <span className="divider" aria-hidden="true">|</span>
        <span className="meeting-code">{p.code}</span>
        {p.locked && (
          <span className="locked-badge" data-testid="meeting-locked" title="No one new can join">
            <Icon name="lock" size={16} />
            Meeting locked
          </span>
        )}
      </div>
      <div className="bar-center" role="toolbar" aria-label="Call controls">
        <RoundButton
          label={p.micOn ? "Turn off microphone" : "Turn on microphone"}
          title={`${p.micOn ? "Turn off" : "Turn on"} microphone (${mod} + D)`}
          icon={p.micOn ? "mic" : "micOff"}
          off={!p.micOn}
          onClick={p.onToggleMic}
        />
        <RoundButton
          label={p.cameraOn ? "Turn off camera" : "Turn on camera"}
          title={`${p.cameraOn ? "Turn off" : "Turn on"} camera (${mod} + E)`}
          icon={p.cameraOn ? "cam" : "camOff"}
          off={!p.cameraOn}
          onClick={p.onToggleCamera}
        />
        <RoundButton
          label={p.presenting ? "Stop presenting" : "Present now"}
          icon="present"
          active={p.presenting}
          disabled={!p.canPresent}
          onClick={p.onTogglePresent}
        />
        <RaiseHandButton raised={p.handRaised} onToggle={p.onToggleHand} />
        <ReactionsMenu onReact={p.onReact} />
        <RoundButton label="Leave call" icon="callEnd" danger onClick={p.onLeave} />
      </div>
      <div className="bar-right">
        <RoundButton label="Copy meeting link" icon="link" onClick={p.onCopyLink} />
        <RoundButton label="Settings" title="Camera, microphone and speaker" icon="settings" onClick={p.onSettings} />
        <RoundButton label="Keyboard shortcuts" title="Keyboard shortcuts (?)" icon="keyboard" onClick={p.onHelp} />
        <LayoutMenu choice={p.layout} onChoose={p.onLayout} />
        {p.isHost && (
          <HostMenu locked={p.locked} onLock={p.onLock} lobby={p.lobby} onLobby={p.onLobby} onEnd={p.onEndForAll} />
        )}
        <RoundButton
          label="Show everyone"
          title={`People (${p.participantCount})`}
          icon="people"
          active={p.panel === "people"}
          onClick={() => p.onPanel("people")}
        />
        <RoundButton
          label="Chat with everyone"
          icon="chat"
          active={p.panel === "chat"}
          badge={p.unread}
          onClick={() => p.onPanel("chat")}
        />
      </div>
    </footer>
  );
}
