// In-call settings: camera, microphone (with its level) and speaker, switched live. A new
// camera or microphone replaces the sent track on the same transceiver (no renegotiation);
// the speaker is `setSinkId` on the remote audio, where the browser has it.

import { canPickSpeaker } from "../media/deviceFallback";
import type { LocalMedia } from "../media/useLocalMedia";
import { DevicePicker } from "./DevicePicker";
import { LevelMeter } from "./LevelMeter";
import { Modal } from "./Modal";

export function SettingsDialog({ media, onClose }: { media: LocalMedia; onClose(): void }) {
  const { devices } = media;
  return (
    <Modal title="Settings" onClose={onClose} className="settings-dialog">
      <div className="settings-body" data-testid="settings">
        <DevicePicker
          label="Camera"
          devices={devices.cameras}
          value={media.cameraId}
          onChange={(id) => void media.selectCamera(id)}
        />
        <div className="settings-mic">
          <DevicePicker
            label="Microphone"
            devices={devices.microphones}
            value={media.micId}
            onChange={(id) => void media.selectMic(id)}
          />
          <LevelMeter track={media.mic} active={media.micOn} />
        </div>
        {canPickSpeaker() && (
          <DevicePicker
            label="Speaker"
            devices={devices.speakers}
            value={media.speakerId || "default"}
            onChange={(id) => media.selectSpeaker(id)}
          />
        )}
        {devices.cameras.length + devices.microphones.length === 0 && (
          <p className="muted-text">No camera or microphone was found.</p>
        )}
      </div>
    </Modal>
  );
}
