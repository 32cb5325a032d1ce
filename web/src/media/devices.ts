// Getting cameras and microphones, and saying plainly why we couldn't.

export type MediaErrorKind = "denied" | "no_device" | "busy" | "unsupported" | "other";

export function classifyMediaError(e: unknown): MediaErrorKind {
  const name = (e as { name?: string } | null)?.name ?? "";
  switch (name) {
    case "NotAllowedError":
    case "SecurityError":
      return "denied";
    case "NotFoundError":
    case "OverconstrainedError":
      return "no_device";
    case "NotReadableError":
    case "AbortError":
      return "busy";
    case "TypeError":
      return "unsupported";
    default:
      return "other";
  }
}

export function mediaErrorMessage(kind: MediaErrorKind, device: "camera" | "microphone"): string {
  switch (kind) {
    case "denied":
      return `Permission to use your ${device} was denied. Allow it in your browser's site settings, then try again.`;
    case "no_device":
      return `No ${device} was found.`;
    case "busy":
      return `Your ${device} is in use by another app.`;
    case "unsupported":
      return `This browser can't use a ${device} here (it needs HTTPS or localhost).`;
    default:
      return `Couldn't start your ${device}.`;
  }
}

function supported(): boolean {
  return typeof navigator !== "undefined" && !!navigator.mediaDevices?.getUserMedia;
}

export const VIDEO_CONSTRAINTS: MediaTrackConstraints = {
  width: { ideal: 1280 },
  height: { ideal: 720 },
  frameRate: { ideal: 30 },
};

export const AUDIO_CONSTRAINTS: MediaTrackConstraints = {
  echoCancellation: true,
  noiseSuppression: true,
  autoGainControl: true,
};

export type Acquired =
  | { track: MediaStreamTrack; error: null }
  | { track: null; error: MediaErrorKind };

/** One camera or microphone track, optionally from a chosen device. */
export async function acquire(kind: "audio" | "video", deviceId?: string): Promise<Acquired> {
  if (!supported()) return { track: null, error: "unsupported" };
  const base = kind === "video" ? VIDEO_CONSTRAINTS : AUDIO_CONSTRAINTS;
  const constraints = deviceId ? { ...base, deviceId: { exact: deviceId } } : base;
  try {
    const stream = await navigator.mediaDevices.getUserMedia({ [kind]: constraints });
    const track = kind === "video" ? stream.getVideoTracks()[0] : stream.getAudioTracks()[0];
    if (!track) return { track: null, error: "no_device" };
    return { track, error: null };
  } catch (e) {
    return { track: null, error: classifyMediaError(e) };
  }
}

export interface DeviceLists {
  cameras: MediaDeviceInfo[];
  microphones: MediaDeviceInfo[];
  speakers: MediaDeviceInfo[];
}

export async function listDevices(): Promise<DeviceLists> {
  if (!navigator.mediaDevices?.enumerateDevices) return { cameras: [], microphones: [], speakers: [] };
  const all = await navigator.mediaDevices.enumerateDevices();
  // Before permission, labels and ids are blank: such entries are useless in a picker.
  const named = all.filter((d) => d.deviceId);
  return {
    cameras: named.filter((d) => d.kind === "videoinput"),
    microphones: named.filter((d) => d.kind === "audioinput"),
    speakers: named.filter((d) => d.kind === "audiooutput"),
  };
}

/** A screen, window or tab to share, or null if the person cancelled. */
export async function acquireScreen(): Promise<MediaStreamTrack | null> {
  if (!navigator.mediaDevices?.getDisplayMedia) return null;
  try {
    const stream = await navigator.mediaDevices.getDisplayMedia({
      video: { frameRate: { ideal: 15 } },
      audio: false,
    });
    const track = stream.getVideoTracks()[0] ?? null;
    // Text on shared screens should stay sharp rather than smooth.
    if (track && "contentHint" in track) track.contentHint = "detail";
    return track;
  } catch {
    return null;
  }
}
