// One meeting URL: pre-join, then the call, then an end screen. "Rejoin" starts a fresh
// round (new token, devices re-opened).

import { useEffect, useRef, useState } from "react";
import { ApiError, requestToken } from "../lib/api";
import { loadConfig } from "../lib/config";
import { inviteFor } from "../lib/invite";
import { navigate } from "../lib/router";
import { loadName, saveName } from "../lib/storage";
import { useLocalMedia } from "../media/useLocalMedia";
import { Session } from "../session";
import { browserPeerFactory, browserSocket } from "../session/browser";
import { refusalOf } from "../session/errors";
import { EndScreen, type EndInfo } from "./EndScreen";
import { Meeting } from "./Meeting";
import { PreJoin } from "./PreJoin";

async function startSession(code: string, name: string): Promise<Session<MediaStreamTrack>> {
  // An invite link's token joins as whoever it was issued to (a host, say); it is reused on
  // reconnects, as a guest token would be fetched anew.
  const invite = inviteFor(code);
  const [config, token] = await Promise.all([
    loadConfig(),
    invite ? Promise.resolve(invite.token) : requestToken(code, name).then((t) => t.token),
  ]);
  return new Session<MediaStreamTrack>({
    wsUrl: config.wsUrl,
    token,
    refreshToken: async () => (invite ? invite.token : (await requestToken(code, name)).token),
    createSocket: browserSocket,
    createPeer: browserPeerFactory(config.iceTransportPolicy),
    lobbyTimeoutMs: config.lobbyTimeoutSecs * 1000,
    log: (msg, detail) => console.info(`veet: ${msg}`, detail ?? ""),
  });
}

function MeetingFlow({ code, onEnd }: { code: string; onEnd(info: EndInfo): void }) {
  const media = useLocalMedia();
  const [session, setSession] = useState<Session<MediaStreamTrack> | null>(null);
  const [name, setName] = useState(() => inviteFor(code)?.name ?? loadName());
  const [joining, setJoining] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const join = async (n: string) => {
    saveName(n);
    setName(n);
    setJoining(true);
    setError(null);
    try {
      setSession(await startSession(code, n));
    } catch (e) {
      // A guest a host removed gets no new token: that has its own end screen.
      const refused = refusalOf(e);
      if (refused) onEnd(refused);
      else {
        setError(e instanceof ApiError ? e.message : "Could not join the meeting.");
        setJoining(false);
      }
    }
  };

  // Start once the call screen has handed it our tracks (effects run child-first).
  useEffect(() => {
    if (!session) return;
    session.start();
    const check = () => {
      const s = session.getState();
      if (s.status === "left") onEnd({ kind: "left" });
      else if (s.status === "failed" && s.fatal) {
        onEnd({ kind: s.fatal.kind, message: s.fatal.message, closeReason: s.fatal.closeReason });
      }
    };
    const unsubscribe = session.subscribe(check);
    // Closing the tab: say goodbye so the others' tiles go at once, not at socket timeout.
    const onPageHide = () => session.leave();
    window.addEventListener("pagehide", onPageHide);
    return () => {
      unsubscribe();
      window.removeEventListener("pagehide", onPageHide);
      session.leave();
    };
  }, [session, onEnd]);

  if (!session) {
    return <PreJoin code={code} media={media} initialName={name} joining={joining} error={error} onJoin={(n) => void join(n)} />;
  }
  return <Meeting code={code} name={name} session={session} media={media} />;
}

export function MeetingPage({ code }: { code: string }) {
  const [end, setEnd] = useState<EndInfo | null>(null);
  const [round, setRound] = useState(0);
  const onEnd = useRef((info: EndInfo) => setEnd(info)).current;
  useEffect(() => {
    document.title = `Veet – ${code}`;
    return () => {
      document.title = "Veet";
    };
  }, [code]);
  if (end) {
    return (
      <EndScreen
        info={end}
        onRejoin={() => {
          setEnd(null);
          setRound((r) => r + 1);
        }}
        onHome={() => navigate("/")}
      />
    );
  }
  return <MeetingFlow key={round} code={code} onEnd={onEnd} />;
}
