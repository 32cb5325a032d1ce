// Every network reachable: with `iceTransportPolicy: "relay"` in the web config, all media goes
// through TURN — a local coturn started here, with the short-lived credentials `joined`
// carries. Once over UDP, once with coturn's UDP listener off so only TURN over TCP works.

import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { launchParticipant } from "./lib/browser.js";
import { Proc, freePort } from "./lib/cluster.js";
import { joinAs, statsDump, waitForVideo } from "./lib/meeting.js";
import { startVeet } from "./lib/server.js";

const SECRET = "browser-turn-test-secret";
const TURNSERVER = process.env.TURNSERVER_BIN ?? "turnserver";

/** coturn on loopback with the TURN REST API secret; `udp: false` leaves it TCP only. */
async function startCoturn({ udp }) {
  const port = await freePort();
  const relayFrom = 40000 + Math.floor(Math.random() * 20000);
  const args = [
    "-n",
    "--listening-ip=127.0.0.1",
    `--listening-port=${port}`,
    "--relay-ip=127.0.0.1",
    `--min-port=${relayFrom}`,
    `--max-port=${relayFrom + 200}`,
    "--use-auth-secret",
    `--static-auth-secret=${SECRET}`,
    "--realm=veet.test",
    // The SFU node is on loopback too; coturn refuses to relay to it unless told.
    "--allow-loopback-peers",
    "--no-cli",
    "--no-tls",
    "--no-dtls",
    "--fingerprint",
    "--log-file=stdout",
    "--simple-log",
  ];
  if (!udp) args.push("--no-udp");
  const proc = new Proc("coturn", TURNSERVER, args);
  await proc.waitListening(port);
  return { proc, port };
}

/** The transport (udp/tcp) of each connected peer connection's selected local candidate, if relayed. */
function relayedPairs(page) {
  return page.evaluate(async () => {
    const out = [];
    for (const pc of window.__veetPcs ?? []) {
      if (pc.connectionState !== "connected") continue;
      const stats = await pc.getStats();
      let pair;
      stats.forEach((s) => {
        if (s.type === "transport" && s.selectedCandidatePairId) pair = stats.get(s.selectedCandidatePairId);
      });
      const local = pair && stats.get(pair.localCandidateId);
      out.push(local ? `${local.candidateType}/${local.relayProtocol ?? local.protocol}` : "none");
    }
    return out;
  });
}

for (const { label, udp, urls, protocol } of [
  { label: "TURN over UDP", udp: true, urls: (p) => `turn:127.0.0.1:${p}`, protocol: "udp" },
  { label: "TURN over TCP only", udp: false, urls: (p) => `turn:127.0.0.1:${p}?transport=tcp`, protocol: "tcp" },
]) {
  describe(`relay-only media, ${label}`, () => {
    const cleanup = [];
    after(async () => {
      for (const c of cleanup.reverse()) await c();
    });

    test("two people see each other with every connection relayed", async () => {
      const turn = await startCoturn({ udp });
      cleanup.push(() => turn.proc.kill());
      const server = await startVeet({
        env: {
          VEET_TURN_URLS: urls(turn.port),
          VEET_TURN_SECRET: SECRET,
          VEET_ICE_TRANSPORT_POLICY: "relay",
        },
      });
      cleanup.push(() => server.stop());
      const config = await (await fetch(`${server.url}/config.json`)).json();
      assert.equal(config.iceTransportPolicy, "relay");

      const ada = await launchParticipant(server.url);
      cleanup.push(() => ada.close());
      const bob = await launchParticipant(server.url);
      cleanup.push(() => bob.close());
      const room = udp ? "/trn-udpx-abc" : "/trn-tcpx-abc";
      await joinAs(ada.page, room, "Ada");
      await joinAs(bob.page, room, "Bob");
      try {
        await waitForVideo(ada.page, "Bob");
        await waitForVideo(bob.page, "Ada");
      } catch (e) {
        const dumps = await Promise.all([ada.page, bob.page].map((p) => statsDump(p)));
        throw new Error(`${e.message}\n${dumps.join("\n")}\ncoturn:\n${turn.proc.log().slice(-3000)}`);
      }
      for (const [name, person] of [["Ada", ada], ["Bob", bob]]) {
        const pairs = await relayedPairs(person.page);
        assert.ok(pairs.length >= 2, `${name} has publisher and subscriber connections: ${pairs}`);
        assert.deepEqual(
          pairs,
          pairs.map(() => `relay/${protocol}`),
          `${name}'s connections all go through TURN over ${protocol}`,
        );
      }
    });
  });
}
