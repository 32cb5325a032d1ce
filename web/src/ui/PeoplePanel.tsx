// Everyone in the call, with their mic state.

import { Avatar } from "./Avatar";
import { Icon } from "./icons";
import type { TileModel } from "./model";
import { SidePanel } from "./SidePanel";

export function PeoplePanel({ tiles, onClose }: { tiles: TileModel<unknown>[]; onClose(): void }) {
  return (
    <SidePanel title="People" onClose={onClose}>
      <p className="panel-note">In call ({tiles.length})</p>
      <ul className="people-list" data-testid="people-list">
        {tiles.map((t) => (
          <li key={t.id} className="person">
            <Avatar name={t.name} size="sm" />
            <span className="person-name">{t.isSelf ? `${t.name} (You)` : t.name}</span>
            <span className="person-mic" aria-label={t.audioMuted ? "Muted" : "Microphone on"} role="img">
              <Icon name={t.audioMuted ? "micOff" : "mic"} size={20} />
            </span>
          </li>
        ))}
      </ul>
    </SidePanel>
  );
}
