// "Ready to join?": camera preview, mic level, device pickers and the display name.

import { useState } from "react";
import { mediaErrorMessage } from "../media/devices";
import type { LocalMedia } from "../media/useLocalMedia";
import { Avatar } from "./Avatar";
import { DevicePicker } from "./DevicePicker";
import { Icon } from "./icons";
import { LevelMeter } from "./LevelMeter";
import { VideoView } from "./VideoView";

interface Props {
  code: string;
  media: LocalMedia;
  initialName: string;
  joining: boolean;
  error: string | null;
  onJoin(name: string): void;
}


export function PreJoin({ code, media, initialName, joining, error, onJoin }: Props) {
  const [name, setName] = useState(initialName);
  const problems = [
    media.cameraError && mediaErrorMessage(media.cameraError, "camera"),
    media.micError && mediaErrorMessage(media.micError, "microphone"),
  ].filter((m): m is string => !!m);
  const submit = (e: React.FormEvent) => {
    e.preventDefault();
    if (name.trim()) onJoin(name.trim());
  };
  return (
    <main className="prejoin">
      <section className="prejoin-media">
        <div className="preview" data-testid="preview">
          {media.camera ? (
            <VideoView track={media.camera} mirrored label="Your camera preview" />
          ) : (
            <div className="preview-off">
              {name.trim() ? <Avatar name={name} size="lg" /> : null}
              <p>{media.starting ? "Starting camera…" : "Camera is off"}</p>
            </div>
          )}
          <div className="preview-controls">
            <button
              type="button"
              className={`round-btn${media.micOn ? "" : " off"}`}
              aria-label={media.micOn ? "Turn off microphone" : "Turn on microphone"}
              onClick={() => void media.setMicOn(!media.micOn)}
            >
              <Icon name={media.micOn ? "mic" : "micOff"} />
            </button>
            <button
              type="button"
              className={`round-btn${media.cameraOn ? "" : " off"}`}
              aria-label={media.cameraOn ? "Turn off camera" : "Turn on camera"}
              onClick={() => void media.setCameraOn(!media.cameraOn)}
            >
              <Icon name={media.cameraOn ? "cam" : "camOff"} />
            </button>
          </div>
          {media.mic && (
            <div className="preview-meter">
              <LevelMeter track={media.mic} active={media.micOn} />
            </div>
          )}
        </div>
        {problems.length > 0 && (
          <div className="media-problems" role="alert">
            <Icon name="warning" size={20} />
            <div>
              {problems.map((p) => (
                <p key={p}>{p}</p>
              ))}
              <p>You can still join to watch and listen.</p>
            </div>
          </div>
        )}
        <div className="device-pickers">
          <DevicePicker
            label="Microphone"
            devices={media.devices.microphones}
            value={media.micId}
            onChange={(id) => void media.selectMic(id)}
          />
          <DevicePicker
            label="Camera"
            devices={media.devices.cameras}
            value={media.cameraId}
            onChange={(id) => void media.selectCamera(id)}
          />
        </div>
      </section>
      <section className="prejoin-side">
        <h1>Ready to join?</h1>
        <p className="muted-text">
          Meeting <span className="meeting-code">{code}</span>
        </p>
        <form className="join-form" onSubmit={submit}>
          <label className="field">
            <span>Your name</span>
            <input
              aria-label="Your name"
              value={name}
              maxLength={64}
              autoFocus
              required
              placeholder="What's your name?"
              onChange={(e) => setName(e.target.value)}
            />
          </label>
          <button type="submit" className="btn btn-primary btn-large" disabled={!name.trim() || joining}>
            {joining ? "Joining…" : "Join now"}
          </button>
        </form>
        {error && (
          <p className="form-error" role="alert">
            {error}
          </p>
        )}
      </section>
    </main>
  );
}
