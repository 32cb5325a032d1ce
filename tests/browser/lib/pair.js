// Ann and Bob in one meeting, Bob already seeing Ann's video: the two-person fixture.

import { launchParticipant } from "./browser.js";
import { joinAs, waitForVideo } from "./meeting.js";
import { startVeet } from "./server.js";

/**
 * Starts `veet dev` (with `env`), launches Ann and Bob (with `ann` / `bob` launch options)
 * and joins both to `code`. Returns `{ server, people, close }`; if a step fails, what was
 * started is closed before the error is thrown.
 */
export async function annAndBob(code, { env = {}, ann = {}, bob = {} } = {}) {
  const server = await startVeet({ env });
  const people = {};
  const close = async () => {
    for (const p of Object.values(people)) await p.close();
    await server.stop();
  };
  try {
    people.Ann = await launchParticipant(server.url, ann);
    people.Bob = await launchParticipant(server.url, bob);
    await joinAs(people.Ann.page, `/${code}`, "Ann");
    await joinAs(people.Bob.page, `/${code}`, "Bob");
    await waitForVideo(people.Bob.page, "Ann");
  } catch (e) {
    await close();
    throw e;
  }
  return { server, people, close };
}
