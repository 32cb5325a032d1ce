// Page-level helpers: join through the UI, find tiles, read WebRTC stats.

import assert from "node:assert/strict";

export const tile = (page, name) => page.locator(`[data-testid="participant-tile"][data-name="${name}"]`);

/** Pre-join → "Join now" → in the call. */
export async function joinAs(page, url, name) {
  await page.goto(url);
  await page.getByLabel("Your name").fill(name);
  // Wait for the camera preview, so we join with camera and mic on.
  await page.locator('[data-testid="preview"] video').waitFor({ timeout: 15_000 });
  await page.getByRole("button", { name: "Join now" }).click();
  await page.locator(".meeting[data-status=joined]").waitFor({ timeout: 20_000 });
}

/** Waits until `name`'s tile on `page` plays video with real frames. */
export async function waitForVideo(page, name, timeout = 30_000) {
  await page.waitForFunction(
    (n) => {
      const v = document.querySelector(`[data-testid="participant-tile"][data-name="${n}"] video`);
      return !!v && v.videoWidth > 0 && v.readyState >= 2;
    },
    name,
    { timeout },
  );
}

/** Waits until `count` remote <audio> elements are playing (time advancing). */
export async function waitForAudioPlaying(page, count, timeout = 20_000) {
  await page.waitForFunction(
    async (n) => {
      const els = [...document.querySelectorAll("audio")];
      const before = els.map((a) => a.currentTime);
      await new Promise((r) => setTimeout(r, 300));
      return els.filter((a, i) => !a.paused && a.currentTime > before[i]).length >= n;
    },
    count,
    { timeout },
  );
}

/**
 * Summed inbound media counters over the page's live peer connections; with `since`, only
 * those it created after it had made that many (the ones built after some event).
 */
export async function inboundStats(page, { since = 0 } = {}) {
  return page.evaluate(async (since) => {
    const out = { framesDecoded: 0, videoBytes: 0, audioBytes: 0, videoStreams: 0, audioStreams: 0 };
    for (const pc of (window.__veetPcs ?? []).slice(since)) {
      if (pc.connectionState === "closed") continue;
      const stats = await pc.getStats();
      stats.forEach((s) => {
        if (s.type !== "inbound-rtp") return;
        if (s.kind === "video") {
          out.framesDecoded += s.framesDecoded ?? 0;
          out.videoBytes += s.bytesReceived ?? 0;
          out.videoStreams += 1;
        } else if (s.kind === "audio") {
          out.audioBytes += s.bytesReceived ?? 0;
          out.audioStreams += 1;
        }
      });
    }
    return out;
  }, since);
}

/** The number of peer connections `page` has made so far (for `since`). */
export const pcCount = (page) => page.evaluate(() => (window.__veetPcs ?? []).length);

/** Asserts inbound video frames and audio bytes keep growing on `page` (see inboundStats for `since`). */
export async function assertMediaFlowing(page, label, { minVideoStreams = 1, since = 0, timeout = 30_000 } = {}) {
  const deadline = Date.now() + timeout;
  let a = await inboundStats(page, { since });
  for (;;) {
    await page.waitForTimeout(1500);
    const b = await inboundStats(page, { since });
    const ok =
      b.framesDecoded > a.framesDecoded &&
      b.audioBytes > a.audioBytes &&
      b.videoStreams >= minVideoStreams;
    if (ok) return b;
    if (Date.now() > deadline) {
      assert.fail(
        `${label}: inbound media not flowing: before ${JSON.stringify(a)} after ${JSON.stringify(b)}\n` +
          (await statsDump(page)),
      );
    }
    a = b;
  }
}

/** A webrtc-internals-like summary of every peer connection, for failure messages. */
export async function statsDump(page, { sdp = false } = {}) {
  return page.evaluate(async (withSdp) => {
    const lines = [];
    for (const [i, pc] of (window.__veetPcs ?? []).entries()) {
      lines.push(
        `pc#${i} conn=${pc.connectionState} ice=${pc.iceConnectionState} signaling=${pc.signalingState} ` +
          `transceivers=${pc.getTransceivers().map((t) => `${t.mid}:${t.direction}/${t.currentDirection}:${t.receiver.track.kind}`).join(",")}`,
      );
      if (pc.connectionState === "closed") continue;
      const stats = await pc.getStats();
      stats.forEach((s) => {
        if (["inbound-rtp", "outbound-rtp"].includes(s.type)) {
          lines.push(
            `  ${s.type} ${s.kind} ssrc=${s.ssrc} mid=${s.mid} bytes=${s.bytesReceived ?? s.bytesSent} ` +
              `packets=${s.packetsReceived ?? s.packetsSent} frames=${s.framesDecoded ?? s.framesEncoded ?? "-"}`,
          );
        }
        if (s.type === "candidate-pair" && s.nominated) {
          lines.push(`  pair ${s.state} rtt=${s.currentRoundTripTime} sent=${s.bytesSent} recv=${s.bytesReceived}`);
        }
      });
      if (withSdp) {
        lines.push(`  local sdp:\n${(pc.localDescription?.sdp ?? "").replace(/^/gm, "    ")}`);
        lines.push(`  remote sdp:\n${(pc.remoteDescription?.sdp ?? "").replace(/^/gm, "    ")}`);
      }
    }
    return lines.join("\n");
  }, sdp);
}

/** A log's last lines without colour codes and the handshake chatter that says nothing. */
export function logTail(log, lines = 40) {
  return log
    // eslint-disable-next-line no-control-regex
    .replace(/\x1b\[[0-9;]*m/g, "")
    .split("\n")
    .filter((l) => l && !/ (DEBUG|TRACE) |rtc_dtls|pingAllCandidates|Ignoring remote candidate/.test(l))
    .slice(-lines)
    .join("\n");
}

/**
 * A few lines on what a page shows, for a failure report that must be readable from the test
 * output alone (CI keeps no artifacts): status, each tile and whether its video decodes, peer
 * connection states, the last frames received and console lines; one string per line.
 */
export async function pageSummary(person, { frames = 12, lines = 12 } = {}) {
  const seen = await person.page
    .evaluate((frames) => {
      const meeting = document.querySelector(".meeting");
      const tiles = [...document.querySelectorAll('[data-testid="participant-tile"]')].map((t) => {
        const v = t.querySelector("video");
        return `${t.getAttribute("data-name")}:${v ? `${v.videoWidth}x${v.videoHeight}/rs${v.readyState}` : "no-video"}`;
      });
      const pcs = (window.__veetPcs ?? []).map((pc) => pc.connectionState).join(",");
      const last = (window.__veetFrames ?? []).slice(-frames).map((f) => f.type ?? f.code).join(",");
      return `status=${meeting?.getAttribute("data-status")} tiles=[${tiles.join(" ")}] pcs=[${pcs}] frames=[${last}]`;
    }, frames)
    .catch((e) => `(page unreadable: ${e})`);
  return [seen, ...person.consoleLines.slice(-lines).map((l) => `  console: ${l}`)];
}

/**
 * The page's outbound camera/screen video encodings (simulcast layers), one entry per RTP
 * stream: rid, bytesSent, framesEncoded, frameWidth, and `active` as the sender's
 * parameters say (dynacast switches encodings off there).
 */
export async function outboundVideo(page) {
  return page.evaluate(async () => {
    const out = [];
    for (const pc of window.__veetPcs ?? []) {
      if (pc.connectionState === "closed") continue;
      const active = new Map();
      for (const s of pc.getSenders()) {
        if (s.track?.kind === "audio") continue;
        for (const e of s.getParameters().encodings ?? []) active.set(e.rid ?? "", e.active !== false);
      }
      const stats = await pc.getStats();
      stats.forEach((s) => {
        if (s.type !== "outbound-rtp" || s.kind !== "video") return;
        out.push({
          rid: s.rid ?? "",
          mid: s.mid,
          bytesSent: s.bytesSent ?? 0,
          framesEncoded: s.framesEncoded ?? 0,
          frameWidth: s.frameWidth ?? 0,
          frameHeight: s.frameHeight ?? 0,
          active: active.get(s.rid ?? "") ?? null,
          qualityLimitationReason: s.qualityLimitationReason,
        });
      });
    }
    return out;
  });
}

/** Inbound video stats of one remote track (`trackIdentifier` is the SFU's track id). */
export async function inboundVideo(page, trackId) {
  return page.evaluate(async (id) => {
    let best = null;
    for (const pc of window.__veetPcs ?? []) {
      if (pc.connectionState === "closed") continue;
      const stats = await pc.getStats();
      stats.forEach((s) => {
        if (s.type !== "inbound-rtp" || s.kind !== "video" || s.trackIdentifier !== id) return;
        const cur = {
          frameWidth: s.frameWidth ?? 0,
          frameHeight: s.frameHeight ?? 0,
          framesDecoded: s.framesDecoded ?? 0,
          bytesReceived: s.bytesReceived ?? 0,
        };
        if (!best || cur.bytesReceived > best.bytesReceived) best = cur;
      });
    }
    return best ?? { frameWidth: 0, frameHeight: 0, framesDecoded: 0, bytesReceived: 0 };
  }, trackId);
}

/** The track id of the camera video `name`'s tile shows on `page`. */
export const tileTrackId = (page, name) => tile(page, name).locator("video").getAttribute("data-track-id");

/**
 * Polls `sample()` every `interval` ms until `done(value, previous)` holds; returns that
 * value. On timeout fails with `what` and the last two samples.
 */
export async function pollUntil(sample, done, { what, timeout = 45_000, interval = 1000 } = {}) {
  const deadline = Date.now() + timeout;
  let prev = await sample();
  for (;;) {
    await new Promise((r) => setTimeout(r, interval));
    const cur = await sample();
    if (done(cur, prev)) return cur;
    if (Date.now() > deadline) {
      assert.fail(`${what ?? "condition"} not met in ${timeout} ms: last ${JSON.stringify(cur)}, before ${JSON.stringify(prev)}`);
    }
    prev = cur;
  }
}
