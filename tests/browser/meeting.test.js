// End to end: real `veet dev` (signaling + SFU + web app) and three Chromiums with fake
// cameras, mics and screens, driven through the UI as people would.

import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { resolve } from "node:path";
import { after, before, describe } from "node:test";
import { launchParticipant } from "./lib/browser.js";
import { saveArtifacts, steps } from "./lib/steps.js";
import { assertMediaFlowing, joinAs, tile, waitForAudioPlaying, waitForVideo } from "./lib/meeting.js";
import { ROOT, startVeet } from "./lib/server.js";

describe("a meeting in the browser", () => {
  let server;
  const people = {};
  let meetingUrl;

  before(async () => {
    server = await startVeet();
    for (const name of ["Alice", "Bob"]) people[name] = await launchParticipant(server.url);
  });

  after(async () => {
    if (process.env.VEET_E2E_ARTIFACTS && !failed()) await saveArtifacts("e2e", server, people);
    for (const p of Object.values(people)) await p.close();
    await server?.stop();
  });

  const page = (name) => people[name].page;

  const { step, failed } = steps("e2e", () => server, () => people);

  step("Alice creates a meeting from the home page and Bob joins by its code", async () => {
    const alice = page("Alice");
    await alice.goto("/");
    await alice.getByRole("button", { name: "New meeting" }).click();
    await alice.waitForURL(/\/[a-z]{3}-[a-z]{4}-[a-z]{3}$/);
    meetingUrl = alice.url();
    const code = new URL(meetingUrl).pathname.slice(1);
    await joinAs(alice, meetingUrl, "Alice");

    const bob = page("Bob");
    await bob.goto("/");
    await bob.getByLabel("Enter a code or link").fill(code);
    await bob.getByRole("button", { name: "Join", exact: true }).click();
    await bob.waitForURL(meetingUrl);
    await joinAs(bob, meetingUrl, "Bob");

    // The copy-link button puts the meeting URL on the clipboard.
    await bob.getByRole("button", { name: "Copy meeting link" }).click();
    await bob.locator(".toasts").getByText("Meeting link copied").waitFor();
    assert.equal(await bob.evaluate(() => navigator.clipboard.readText()), meetingUrl);

    // Joins appear live on both sides.
    await tile(alice, "Bob").waitFor({ timeout: 10_000 });
    await tile(bob, "Alice").waitFor({ timeout: 10_000 });
    assert.equal(await tile(alice, "Alice").getAttribute("data-self"), "true");
  });

  step("each sees and hears the other", async () => {
    await waitForVideo(page("Alice"), "Bob");
    await waitForVideo(page("Bob"), "Alice");
    await assertMediaFlowing(page("Alice"), "Alice");
    await assertMediaFlowing(page("Bob"), "Bob");
    await waitForAudioPlaying(page("Alice"), 1);
    await waitForAudioPlaying(page("Bob"), 1);
    // Chromium's fake microphone beeps: Bob's tile lights up as speaking on Alice's screen.
    await page("Alice")
      .locator('[data-testid="participant-tile"][data-name="Bob"][data-speaking="true"]')
      .waitFor({ timeout: 10_000 });
    // The node forwards the audio level header extension (under the subscriber's id): the
    // receiver reports levels for Bob's audio only when it arrives.
    await page("Alice").waitForFunction(
      () =>
        (window.__veetPcs ?? []).some((pc) =>
          pc.getReceivers().some((r) => r.track.kind === "audio" && r.getSynchronizationSources().some((s) => typeof s.audioLevel === "number")),
        ),
      null,
      { timeout: 10_000 },
    );
    // Self view is mirrored, remote views are not.
    const mirrored = (p, n) => tile(p, n).locator("video").evaluate((v) => v.classList.contains("mirrored"));
    assert.equal(await mirrored(page("Alice"), "Alice"), true);
    assert.equal(await mirrored(page("Alice"), "Bob"), false);
  });

  step("muting (button and Ctrl+D) shows on the other side", async () => {
    const mutedIcon = page("Bob").getByRole("img", { name: "Alice's microphone is muted" });
    await page("Alice").getByRole("button", { name: "Turn off microphone" }).click();
    await mutedIcon.waitFor({ timeout: 10_000 });
    await page("Alice").getByRole("button", { name: "Turn on microphone" }).click();
    await mutedIcon.waitFor({ state: "detached", timeout: 10_000 });

    await page("Alice").keyboard.press("Control+d");
    await mutedIcon.waitFor({ timeout: 10_000 });
    await page("Alice").keyboard.press("Control+d");
    await mutedIcon.waitFor({ state: "detached", timeout: 10_000 });
  });

  step("turning the camera off (Ctrl+E) shows initials, and on again brings video back", async () => {
    await page("Bob").keyboard.press("Control+e");
    await page("Bob").getByRole("button", { name: "Turn on camera" }).waitFor();
    await tile(page("Alice"), "Bob").locator('[data-testid="camera-off"]').waitFor({ timeout: 10_000 });
    await page("Bob").getByRole("button", { name: "Turn on camera" }).click();
    await tile(page("Alice"), "Bob").locator('[data-testid="camera-off"]').waitFor({ state: "detached", timeout: 10_000 });
    await waitForVideo(page("Alice"), "Bob");
  });

  step("a chat message arrives", async () => {
    await page("Alice").getByRole("button", { name: "Chat with everyone" }).click();
    await page("Alice").getByLabel("Send a message to everyone").fill("Hello from Alice");
    await page("Alice").keyboard.press("Enter");
    await page("Alice").getByTestId("chat-messages").getByText("Hello from Alice").waitFor({ timeout: 10_000 });

    await page("Bob").getByRole("button", { name: "Chat with everyone" }).click();
    await page("Bob").getByTestId("chat-messages").getByText("Hello from Alice").waitFor({ timeout: 10_000 });
    await page("Bob").getByRole("button", { name: "Close in-call messages" }).click();
    await page("Alice").getByRole("button", { name: "Close in-call messages" }).click();
  });

  step("a screen share shows large on the other side", async () => {
    await page("Bob").getByRole("button", { name: "Present now" }).click();
    await page("Bob").getByRole("button", { name: "Stop presenting" }).waitFor({ timeout: 10_000 });
    await page("Alice").waitForFunction(
      () => {
        const v = document.querySelector('[data-testid="screen-share"][data-name="Bob"] video');
        return !!v && v.videoWidth > 0;
      },
      null,
      { timeout: 30_000 },
    );
    // Bob's camera stays in the strip beside it.
    await waitForVideo(page("Alice"), "Bob");
    await page("Bob").getByRole("button", { name: "Stop presenting" }).click();
    await page("Alice").getByTestId("screen-share").waitFor({ state: "detached", timeout: 15_000 });
  });

  step("a late third participant sees both others", async () => {
    people.Carol = await launchParticipant(server.url);
    const carol = page("Carol");
    await joinAs(carol, meetingUrl, "Carol");
    await waitForVideo(carol, "Alice");
    await waitForVideo(carol, "Bob");
    await assertMediaFlowing(carol, "Carol", { minVideoStreams: 2 });
    await waitForVideo(page("Alice"), "Carol");
    await waitForVideo(page("Bob"), "Carol");

    await page("Alice").getByRole("button", { name: "Show everyone" }).click();
    const list = page("Alice").getByTestId("people-list");
    for (const n of ["Alice (You)", "Bob", "Carol"]) await list.getByText(n).waitFor();
    await page("Alice").getByRole("button", { name: "Close people" }).click();

    // Let the "joined" notices fade and the last frames paint.
    await page("Alice").locator(".toast").first().waitFor({ state: "detached", timeout: 10_000 });
    await page("Alice").waitForTimeout(500);
    mkdirSync(resolve(ROOT, "docs"), { recursive: true });
    await page("Alice").screenshot({ path: resolve(ROOT, "docs/screenshot.png") });
  });

  step("after the server drops every socket, the call resumes without a reload", async () => {
    const pages = ["Alice", "Bob", "Carol"].map(page);
    for (const p of pages) await p.evaluate(() => (window.__noReload = true));
    const banners = pages.map((p) =>
      p.getByTestId("reconnecting-banner").waitFor({ timeout: 10_000 }).then(() => true, () => false),
    );
    await server.dropConnections();
    assert.deepEqual(await Promise.all(banners), [true, true, true], "reconnecting banner shown");
    for (const p of pages) {
      await p.locator(".meeting[data-status=joined]").waitFor({ timeout: 30_000 });
      assert.equal(await p.evaluate(() => window.__noReload), true, "page was not reloaded");
    }
    await waitForVideo(page("Alice"), "Bob");
    await waitForVideo(page("Alice"), "Carol");
    await waitForVideo(page("Bob"), "Alice");
    await waitForVideo(page("Carol"), "Alice");
    for (const n of ["Alice", "Bob", "Carol"]) {
      await assertMediaFlowing(page(n), `${n} after reconnect`, { minVideoStreams: 2 });
    }
  });

  step("someone with no camera or microphone can still join to watch and listen", async () => {
    people.Dave = await launchParticipant(server.url, { fakeDevices: false });
    const dave = page("Dave");
    await dave.goto(meetingUrl);
    await dave.getByText("No camera was found.").waitFor({ timeout: 15_000 });
    await dave.getByText("You can still join to watch and listen.").waitFor();
    await dave.getByLabel("Your name").fill("Dave");
    await dave.getByRole("button", { name: "Join now" }).click();
    await dave.locator(".meeting[data-status=joined]").waitFor({ timeout: 20_000 });
    await waitForVideo(dave, "Alice");
    await assertMediaFlowing(dave, "Dave", { minVideoStreams: 3 });
    const daveOnAlice = tile(page("Alice"), "Dave");
    await daveOnAlice.locator('[data-testid="camera-off"]').waitFor({ timeout: 10_000 });
    await daveOnAlice.getByRole("img", { name: "Dave's microphone is muted" }).waitFor();
    await dave.getByRole("button", { name: "Leave call" }).click();
    await daveOnAlice.waitFor({ state: "detached", timeout: 10_000 });
  });

  step("leaving removes the tile everywhere", async () => {
    await page("Carol").getByRole("button", { name: "Leave call" }).click();
    await page("Carol").getByRole("heading", { name: "You left the meeting" }).waitFor();
    await tile(page("Alice"), "Carol").waitFor({ state: "detached", timeout: 10_000 });
    await tile(page("Bob"), "Carol").waitFor({ state: "detached", timeout: 10_000 });
    assert.equal(await page("Alice").locator('[data-testid="participant-tile"]').count(), 2);
  });
});
