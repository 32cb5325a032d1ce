// Debian's Chromium driven by playwright-core, with fake camera, mic and screen.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

export const CHROMIUM = process.env.CHROMIUM_BIN ?? "/usr/bin/chromium";

const ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-quic",
  "--use-fake-device-for-media-stream",
  "--use-fake-ui-for-media-stream",
  "--auto-select-desktop-capture-source=Entire screen",
  "--autoplay-policy=no-user-gesture-required",
  // Keep WebRTC on loopback: no mDNS-obfuscated host candidates.
  "--disable-features=WebRtcHideLocalIpsWithMdns",
];

/** One browser per participant, each with its own fresh profile (like separate people). */
export async function launchParticipant(baseUrl, { fakeDevices = true, cameras = 1 } = {}) {
  const dir = mkdtempSync(join(tmpdir(), "veet-chromium-"));
  // Without the fake devices a headless Chromium has no camera and no microphone at all;
  // `device-count` gives it more than one fake camera (fake_device_0, fake_device_1, …).
  const fake = "--use-fake-device-for-media-stream";
  const args = !fakeDevices
    ? ARGS.filter((a) => a !== fake)
    : ARGS.map((a) => (a === fake && cameras > 1 ? `${fake}=device-count=${cameras}` : a));
  const context = await chromium.launchPersistentContext(dir, {
    executablePath: CHROMIUM,
    args,
    headless: true,
    viewport: { width: 1280, height: 720 },
    permissions: ["camera", "microphone", "clipboard-read", "clipboard-write"],
    baseURL: baseUrl,
  });
  // Keep a handle on every peer connection the app makes, for getStats(), and a log of the
  // signaling frames each socket receives (type and error code), to tell how a call recovered.
  await context.addInitScript(() => {
    const Original = window.RTCPeerConnection;
    window.__veetPcs = [];
    window.RTCPeerConnection = class extends Original {
      constructor(...args) {
        super(...args);
        window.__veetPcs.push(this);
      }
    };
    const OriginalWs = window.WebSocket;
    window.__veetSockets = 0;
    window.__veetFrames = [];
    window.WebSocket = class extends OriginalWs {
      constructor(...args) {
        super(...args);
        const socket = ++window.__veetSockets;
        this.addEventListener("message", (ev) => {
          let f = {};
          try {
            f = JSON.parse(ev.data);
          } catch {}
          window.__veetFrames.push({ at: Date.now(), socket, type: f.type, code: f.code, reason: f.reason });
          if (window.__veetFrames.length > 2000) window.__veetFrames.splice(0, 1000);
        });
      }
    };
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const consoleLines = [];
  page.on("console", (m) => consoleLines.push(`[${m.type()}] ${m.text()}`));
  page.on("pageerror", (e) => consoleLines.push(`[pageerror] ${e.message}`));
  return {
    context,
    page,
    consoleLines,
    async close() {
      await context.close().catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
