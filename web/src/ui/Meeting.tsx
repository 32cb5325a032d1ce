// The call screen: stage, controls, panels. Keeps the session's published tracks in step
// with the local camera, mic and screen share.

import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { acquireScreen } from "../media/devices";
import { useSpeaking } from "../media/useSpeaking";
import type { LocalMedia } from "../media/useLocalMedia";
import { isHost, type Session } from "../session";
import { MovingBanner, ReconnectingBanner } from "./Banner";
import { ChatPanel } from "./ChatPanel";
import { ControlBar } from "./ControlBar";
import { HelpDialog } from "./HelpDialog";
import { SettingsDialog } from "./SettingsDialog";
import { Knocks } from "./Knocks";
import { LobbyScreen } from "./LobbyScreen";
import { remoteView, type ShareModel, type TileModel } from "./model";
import { PeoplePanel } from "./PeoplePanel";
import { RemoteAudio } from "./RemoteAudio";
import { Stage } from "./Stage";
import { Toasts, useToasts } from "./Toasts";
import { useSessionState } from "./useSession";
import { useShortcuts } from "./useShortcuts";
import { useStageLayout } from "./useStageLayout";
import { useLiveReactions } from "./Gestures";
import { withGestures } from "./tileGestures";
import { useOnScreenVideos, VideoRegistryContext } from "./videoRegistry";

type Track = MediaStreamTrack;

interface Props {
  code: string;
  name: string;
  session: Session<Track>;
  media: LocalMedia;
}

async function copyText(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    // No clipboard API (plain http on a LAN address): the old way still works.
    const ta = document.createElement("textarea");
    ta.value = text;
    document.body.appendChild(ta);
    ta.select();
    const ok = document.execCommand("copy");
    ta.remove();
    return ok;
  }
}

/** Toasts when people join or leave (by name, so re-joins after a drop stay quiet). */
function usePresenceToasts(names: string[], active: boolean, push: (t: string) => void) {
  const prev = useRef<string[] | null>(null);
  useEffect(() => {
    if (!active) return;
    if (prev.current) {
      for (const n of names) if (!prev.current.includes(n)) push(`${n} joined`);
      for (const n of prev.current) if (!names.includes(n)) push(`${n} left`);
    }
    prev.current = names;
  }, [names.join("\u0000"), active]); // eslint-disable-line react-hooks/exhaustive-deps
}

export function Meeting({ code, name, session, media }: Props) {
  const state = useSessionState(session);
  const [panel, setPanel] = useState<"chat" | "people" | null>(null);
  const [screen, setScreen] = useState<Track | null>(null);
  const [toasts, toast] = useToasts();
  const [seen, setSeen] = useState(0);
  const [dialog, setDialog] = useState<"settings" | "help" | null>(null);

  // Local media → session.
  useEffect(() => session.setLocalTrack("microphone", media.mic), [session, media.mic]);
  useEffect(() => session.setMuted("microphone", !media.micOn), [session, media.mic, media.micOn]);
  useEffect(() => {
    session.setLocalTrack("camera", media.camera);
    session.setMuted("camera", !media.camera);
  }, [session, media.camera]);

  // Notices (a host muted us, the meeting was locked, …) are toasts.
  useEffect(() => session.onNotice((n) => toast(n.text)), [session, toast]);

  // The server muted us (remote mute): show it as if we had turned it off.
  const { setMicOn, setCameraOn } = media;
  useEffect(
    () =>
      session.onRemoteMute((source) => {
        if (source === "microphone") void setMicOn(false);
        else if (source === "camera") void setCameraOn(false);
      }),
    [session, setMicOn, setCameraOn],
  );

  const toggleMic = useCallback(() => void media.setMicOn(!media.micOn), [media]);
  const toggleCamera = useCallback(() => void media.setCameraOn(!media.cameraOn), [media]);
  useShortcuts({
    mic: toggleMic,
    camera: toggleCamera,
    hand: () => session.gestures.setHand(!session.gestures.raised),
    chat: () => setPanel((cur) => (cur === "chat" ? null : "chat")),
    people: () => setPanel((cur) => (cur === "people" ? null : "people")),
    help: () => setDialog("help"),
  });
  // A camera or microphone unplugged mid-call: say what we switched to.
  useEffect(() => {
    if (media.deviceNotice) toast(media.deviceNotice.text);
  }, [media.deviceNotice, toast]);

  const screenRef = useRef<Track | null>(null);
  const stopShare = useCallback(() => {
    const t = screenRef.current;
    if (!t) return;
    screenRef.current = null;
    t.stop();
    session.removeLocalTrack("screen_share");
    setScreen(null);
  }, [session]);
  const startShare = useCallback(async () => {
    const t = await acquireScreen();
    if (!t) return;
    screenRef.current = t;
    // The browser's own "Stop sharing" button ends the track.
    t.addEventListener("ended", stopShare);
    session.setLocalTrack("screen_share", t);
    setScreen(t);
  }, [session, stopShare]);
  useEffect(() => () => screenRef.current?.stop(), []);

  const remote = useMemo(
    () => remoteView(state.participants, state.media, state.unsupported),
    [state.participants, state.media, state.unsupported],
  );
  const selfTile: TileModel<Track> = {
    id: state.self?.id ?? "self",
    identity: state.self?.identity,
    name,
    isSelf: true,
    video: media.camera,
    audioMuted: !media.micOn,
    host: isHost(state.self),
  };
  const reactions = useLiveReactions(state.reactions);
  const tiles = withGestures([selfTile, ...remote.tiles], state, reactions);
  // Others' speaking comes from the node (active_speakers); our own from our mic, at once.
  const selfSpeaking = useSpeaking(media.mic && media.micOn ? [{ id: selfTile.id, track: media.mic }] : []);
  const speaking = useMemo(
    () => new Set([...state.speakers.map((s) => s.participant_id), ...selfSpeaking]),
    [state.speakers, selfSpeaking],
  );
  const shares: ShareModel<Track>[] = [
    ...remote.shares,
    ...(screen ? [{ participantId: selfTile.id, name, isSelf: true, track: screen }] : []),
  ];
  const stage = useStageLayout({
    tiles,
    shareCount: shares.length,
    speakers: state.speakers,
    selfId: state.self?.id ?? null,
  });
  // Adaptive stream: how big each remote video is on screen goes to the node.
  const videos = useOnScreenVideos((displayed) => session.setTrackViews(displayed));

  const joined = state.status === "joined";
  const host = joined && isHost(state.self) ? session.host : null;
  usePresenceToasts(
    remote.tiles.map((t) => t.name),
    joined,
    toast,
  );

  const fromOthers = state.chat.filter((m) => m.participantId !== state.self?.id).length;
  useEffect(() => {
    if (panel === "chat") setSeen(fromOthers);
  }, [panel, fromOthers]);
  const unread = panel === "chat" ? 0 : Math.max(0, fromOthers - seen);
  // Chat from others is announced (and shown briefly) while the chat panel is closed.
  const lastChat = state.chat.at(-1);
  useEffect(() => {
    if (!lastChat || lastChat.participantId === state.self?.id || panel === "chat") return;
    const text = lastChat.text.length > 80 ? `${lastChat.text.slice(0, 80)}…` : lastChat.text;
    toast(`${lastChat.name}: ${text}`);
  }, [lastChat?.id]); // eslint-disable-line react-hooks/exhaustive-deps

  const copyLink = async () => {
    const ok = await copyText(`${window.location.origin}/${code}`);
    toast(ok ? "Meeting link copied" : `Meeting link: ${window.location.origin}/${code}`);
  };

  // Waiting for a host: nothing of the call yet; Cancel ends the wait like leaving.
  if (state.status === "lobby") return <LobbyScreen onCancel={() => session.leave()} />;

  return (
    <main className="meeting" data-status={state.status} data-moving={state.moving}>
      <h1 className="visually-hidden">Meeting {code}</h1>
      {state.status === "reconnecting" && <ReconnectingBanner attempt={state.reconnectAttempt} />}
      {state.status === "joined" && state.moving && <MovingBanner />}
      {state.status === "connecting" && (
        <div className="banner banner-info" role="status">
          <span className="spinner" aria-hidden="true" />
          Joining…
        </div>
      )}
      <div className="meeting-body">
        <VideoRegistryContext.Provider value={videos}>
          <Stage
            tiles={tiles}
            shares={shares}
            speaking={speaking}
            layout={stage.layout}
            spotlight={stage.spotlight}
            cap={stage.cap}
            pinnedId={stage.pinnedId}
            onTogglePin={stage.togglePin}
          />
        </VideoRegistryContext.Provider>
        {panel === "chat" && (
          <ChatPanel
            messages={state.chat}
            selfId={state.self?.id}
            canSend={joined}
            onSend={(t) => session.sendChat(t)}
            onClose={() => setPanel(null)}
          />
        )}
        {panel === "people" && (
          <PeoplePanel
            tiles={tiles}
            participants={state.participants}
            host={host}
            locked={state.locked}
            gestures={session.gestures}
            onClose={() => setPanel(null)}
          />
        )}
      </div>
      {host && (
        <Knocks
          knocks={state.knocks}
          onAdmit={(id) => session.lobby.admit(id)}
          onDeny={(id) => session.lobby.deny(id)}
        />
      )}
      <RemoteAudio tracks={remote.audio} sinkId={media.speakerId} />
      {dialog === "settings" && <SettingsDialog media={media} onClose={() => setDialog(null)} />}
      {dialog === "help" && <HelpDialog onClose={() => setDialog(null)} />}
      <Toasts toasts={toasts} />
      <ControlBar
        code={code}
        micOn={media.micOn}
        cameraOn={media.cameraOn}
        presenting={!!screen}
        canPresent={joined && !!navigator.mediaDevices?.getDisplayMedia}
        panel={panel}
        unread={unread}
        participantCount={tiles.length}
        layout={stage.choice}
        onLayout={stage.chooseLayout}
        onToggleMic={toggleMic}
        onToggleCamera={toggleCamera}
        onTogglePresent={() => (screen ? stopShare() : void startShare())}
        onLeave={() => {
          stopShare();
          session.leave();
        }}
        onCopyLink={() => void copyLink()}
        onPanel={(p) => setPanel((cur) => (cur === p ? null : p))}
        isHost={!!host}
        locked={state.locked}
        onLock={(locked) => session.host.setLocked(locked)}
        lobby={state.lobby}
        onLobby={(enabled) => session.lobby.setEnabled(enabled)}
        onEndForAll={() => session.host.endMeeting()}
        handRaised={state.self?.hand_raised_at !== undefined}
        onToggleHand={() => session.gestures.setHand(state.self?.hand_raised_at === undefined)}
        onReact={(emoji) => session.gestures.react(emoji)}
        onSettings={() => setDialog("settings")}
        onHelp={() => setDialog("help")}
      />
    </main>
  );
}
