// The person's own camera and microphone, from the pre-join screen through the call.
// Camera off stops the track (the light goes out); mic off just disables it.

import { useCallback, useEffect, useRef, useState } from "react";
import { fallbackFor, fallbackNotice } from "./deviceFallback";
import { acquire, listDevices, type DeviceLists, type MediaErrorKind } from "./devices";
import { keptNotice, openInstead } from "./switchDevice";

export interface LocalMediaState {
  camera: MediaStreamTrack | null;
  mic: MediaStreamTrack | null;
  cameraOn: boolean;
  micOn: boolean;
  cameraError: MediaErrorKind | null;
  micError: MediaErrorKind | null;
  devices: DeviceLists;
  cameraId: string;
  micId: string;
  /** Where remote audio plays ("" = the system's default). */
  speakerId: string;
  /** The latest "your camera was disconnected" message, numbered so repeats show. */
  deviceNotice: { seq: number; text: string } | null;
  /** Still asking for permission at start-up. */
  starting: boolean;
}

export interface LocalMedia extends LocalMediaState {
  setCameraOn(on: boolean): Promise<void>;
  setMicOn(on: boolean): Promise<void>;
  selectCamera(deviceId: string): Promise<void>;
  selectMic(deviceId: string): Promise<void>;
  selectSpeaker(deviceId: string): void;
  stopAll(): void;
}

const NO_DEVICES: DeviceLists = { cameras: [], microphones: [], speakers: [] };

export function useLocalMedia(): LocalMedia {
  const [s, setS] = useState<LocalMediaState>({
    camera: null,
    mic: null,
    cameraOn: false,
    micOn: false,
    cameraError: null,
    micError: null,
    devices: NO_DEVICES,
    cameraId: "",
    micId: "",
    speakerId: "",
    deviceNotice: null,
    starting: true,
  });
  // The latest state for async callbacks.
  const ref = useRef(s);
  ref.current = s;
  const update = useCallback((p: Partial<LocalMediaState>) => {
    ref.current = { ...ref.current, ...p };
    setS(ref.current);
  }, []);

  const refreshDevices = useCallback(async () => {
    update({ devices: await listDevices().catch(() => NO_DEVICES) });
  }, [update]);

  const tell = (text: string | null) => {
    if (text) update({ deviceNotice: { seq: (ref.current.deviceNotice?.seq ?? 0) + 1, text } });
  };

  // A device appeared or went away: keep what is in use if it is still there, else fall
  // back to the default and say so.
  const devicesChanged = async () => {
    await refreshDevices();
    const { devices, camera, mic, cameraId, micId, speakerId } = ref.current;
    const cam = fallbackFor(camera ? cameraId : "", devices.cameras);
    if (cam.kind === "switch") await openCamera(cam.device.deviceId);
    else if (cam.kind === "gone") update({ camera: null, cameraOn: false });
    tell(fallbackNotice("camera", cam));
    const m = fallbackFor(mic ? micId : "", devices.microphones);
    if (m.kind === "switch") await openMic(m.device.deviceId);
    else if (m.kind === "gone") update({ mic: null, micOn: false });
    tell(fallbackNotice("microphone", m));
    const sp = fallbackFor(speakerId, devices.speakers);
    if (sp.kind !== "keep") update({ speakerId: "" });
    tell(fallbackNotice("speaker", sp));
  };

  const openCamera = useCallback(
    async (deviceId?: string) => {
      const old = ref.current.camera;
      const r = await openInstead(() => acquire("video", deviceId || undefined), old);
      if (r.kept) {
        update({ cameraId: old?.getSettings().deviceId ?? ref.current.cameraId });
        tell(keptNotice("camera", r.error));
        return old;
      }
      if (old !== r.track) old?.stop();
      update({
        camera: r.track,
        cameraOn: !!r.track,
        cameraError: r.error,
        cameraId: r.track?.getSettings().deviceId ?? ref.current.cameraId,
      });
      return r.track;
    },
    [update],
  );

  const openMic = useCallback(
    async (deviceId?: string) => {
      const old = ref.current.mic;
      const r = await openInstead(() => acquire("audio", deviceId || undefined), old);
      if (r.kept) {
        update({ micId: old?.getSettings().deviceId ?? ref.current.micId });
        tell(keptNotice("microphone", r.error));
        return old;
      }
      const wasOn = old ? ref.current.micOn : true;
      if (old !== r.track) old?.stop();
      if (r.track) r.track.enabled = wasOn;
      update({
        mic: r.track,
        micOn: !!r.track && wasOn,
        micError: r.error,
        micId: r.track?.getSettings().deviceId ?? ref.current.micId,
      });
      return r.track;
    },
    [update],
  );

  useEffect(() => {
    let cancelled = false;
    void (async () => {
      await Promise.all([openMic(), openCamera()]);
      if (cancelled) return;
      await refreshDevices();
      update({ starting: false });
    })();
    const onChange = () => void devicesChanged();
    navigator.mediaDevices?.addEventListener?.("devicechange", onChange);
    return () => {
      cancelled = true;
      navigator.mediaDevices?.removeEventListener?.("devicechange", onChange);
    };
  }, [openCamera, openMic, refreshDevices, update]); // eslint-disable-line react-hooks/exhaustive-deps

  // Release the devices when the page (or this hook) goes away.
  useEffect(
    () => () => {
      ref.current.camera?.stop();
      ref.current.mic?.stop();
    },
    [],
  );

  const setCameraOn = useCallback(
    async (on: boolean) => {
      if (!on) {
        ref.current.camera?.stop();
        update({ camera: null, cameraOn: false });
        return;
      }
      await openCamera(ref.current.cameraId);
      await refreshDevices();
    },
    [openCamera, refreshDevices, update],
  );

  const setMicOn = useCallback(
    async (on: boolean) => {
      const mic = ref.current.mic;
      if (mic && mic.readyState === "live") {
        mic.enabled = on;
        update({ micOn: on });
        return;
      }
      if (on) {
        const t = await openMic(ref.current.micId);
        if (t) {
          t.enabled = true;
          update({ micOn: true });
        }
        await refreshDevices();
      }
    },
    [openMic, refreshDevices, update],
  );

  const selectCamera = useCallback(
    async (deviceId: string) => {
      update({ cameraId: deviceId });
      if (ref.current.cameraOn) await openCamera(deviceId);
    },
    [openCamera, update],
  );

  const selectMic = useCallback(
    async (deviceId: string) => {
      update({ micId: deviceId });
      await openMic(deviceId);
    },
    [openMic, update],
  );

  const selectSpeaker = useCallback((deviceId: string) => update({ speakerId: deviceId }), [update]);

  const stopAll = useCallback(() => {
    ref.current.camera?.stop();
    ref.current.mic?.stop();
    update({ camera: null, mic: null, cameraOn: false, micOn: false });
  }, [update]);

  return { ...s, setCameraOn, setMicOn, selectCamera, selectMic, selectSpeaker, stopAll };
}
