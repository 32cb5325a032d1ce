// Accessibility: axe-core on the home screen, the pre-join screen and a two-person meeting
// (with the chat panel and the settings dialog open too). Serious and critical violations
// fail the test; each is printed with the elements it found.

import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { after, before, describe } from "node:test";
import { launchParticipant } from "./lib/browser.js";
import { joinAs, tile, waitForVideo } from "./lib/meeting.js";
import { startVeet } from "./lib/server.js";
import { steps } from "./lib/steps.js";

const axeSource = createRequire(import.meta.url)("axe-core").source;

/** Runs axe on the page as it is; fails on serious or critical violations, listing them. */
async function assertAccessible(page, where) {
  if (!(await page.evaluate(() => !!window.axe))) await page.addScriptTag({ content: axeSource });
  const violations = await page.evaluate(async () => {
    const r = await window.axe.run(document, { resultTypes: ["violations"] });
    return r.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      targets: v.nodes.map((n) => `${n.target.join(" ")}: ${n.failureSummary?.split("\n").slice(1).join("; ")}`),
    }));
  });
  const bad = violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  for (const v of violations) {
    console.log(`${where}: [${v.impact}] ${v.id} — ${v.help}`);
    for (const t of v.targets) console.log(`    ${t}`);
  }
  assert.equal(bad.length, 0, `${where}: ${bad.map((v) => `${v.id} (${v.targets.length})`).join(", ")}`);
}

describe("accessibility (axe)", () => {
  let server;
  const people = {};
  const url = "/axe-chek-ann";

  before(async () => {
    server = await startVeet();
    for (const name of ["Ann", "Bob"]) people[name] = await launchParticipant(server.url);
  });

  after(async () => {
    for (const p of Object.values(people)) await p.close();
    await server?.stop();
  });

  const { step } = steps("a11y", () => server, () => people);

  step("the home screen", async () => {
    const page = people.Ann.page;
    await page.goto("/");
    await page.getByRole("button", { name: "New meeting" }).waitFor();
    await assertAccessible(page, "home");
  });

  step("the pre-join screen", async () => {
    const page = people.Ann.page;
    await page.goto(url);
    await page.locator('[data-testid="preview"] video').waitFor({ timeout: 15_000 });
    await assertAccessible(page, "pre-join");
  });

  step("the meeting screen with two people, its chat panel and dialogs", async () => {
    const ann = people.Ann.page;
    await joinAs(ann, url, "Ann");
    await joinAs(people.Bob.page, url, "Bob");
    await waitForVideo(ann, "Bob");
    await tile(ann, "Bob").waitFor();
    // Bob's arrival was announced in the live region.
    await ann.getByTestId("announcements").getByText("Bob joined").waitFor({ timeout: 10_000 });
    await assertAccessible(ann, "meeting");

    await ann.getByRole("button", { name: "Chat with everyone" }).click();
    await ann.getByLabel("Send a message to everyone").waitFor();
    await assertAccessible(ann, "meeting with chat");
    await ann.getByRole("button", { name: "Close in-call messages" }).click();

    await ann.getByRole("button", { name: "Settings" }).click();
    await ann.getByRole("dialog", { name: "Settings" }).waitFor();
    await assertAccessible(ann, "settings dialog");
    await ann.keyboard.press("Escape");
    await ann.getByRole("dialog", { name: "Settings" }).waitFor({ state: "detached" });
    // Focus went back to the button that opened it.
    assert.equal(await ann.evaluate(() => document.activeElement?.getAttribute("aria-label")), "Settings");

    await ann.keyboard.press("?");
    await ann.getByRole("dialog", { name: "Keyboard shortcuts" }).waitFor();
    await assertAccessible(ann, "shortcuts dialog");
    await ann.keyboard.press("Escape");
    await ann.getByRole("dialog", { name: "Keyboard shortcuts" }).waitFor({ state: "detached" });
  });

  step("every control bar button is reachable with Tab and has a name", async () => {
    const ann = people.Ann.page;
    const names = new Set();
    await ann.locator("body").focus();
    for (let i = 0; i < 60; i++) {
      await ann.keyboard.press("Tab");
      const n = await ann.evaluate(() => {
        const el = document.activeElement;
        return el?.closest(".control-bar") ? el.getAttribute("aria-label") || el.textContent : null;
      });
      if (n) names.add(n);
    }
    const expected = await ann
      .locator(".control-bar button:not([disabled])")
      .evaluateAll((els) => els.filter((e) => e.offsetParent !== null).map((e) => e.getAttribute("aria-label") || e.textContent));
    for (const n of expected) assert.ok(names.has(n), `"${n}" not reached by Tab (reached: ${[...names].join(", ")})`);
  });
});
