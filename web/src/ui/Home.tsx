// The landing page: start a new meeting or join one by code or link.

import { useState } from "react";
import { ApiError, createRoom } from "../lib/api";
import { navigate } from "../lib/router";
import { parseRoomInput } from "../lib/roomCode";
import { Icon } from "./icons";

export function Home() {
  const [input, setInput] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const code = parseRoomInput(input);

  const newMeeting = async () => {
    setBusy(true);
    setError(null);
    try {
      const room = await createRoom();
      navigate(`/${room.code}`);
    } catch (e) {
      setError(e instanceof ApiError ? e.message : "Could not create a meeting.");
      setBusy(false);
    }
  };

  const join = (e: React.FormEvent) => {
    e.preventDefault();
    if (code) navigate(`/${code}`);
    else setError("That doesn't look like a meeting code or link.");
  };

  return (
    <main className="home">
      <header className="home-header">
        <span className="logo" aria-hidden="true">
          <Icon name="cam" size={28} />
        </span>
        <span className="brand">Veet</span>
      </header>
      <section className="home-hero">
        <h1>Video calls and meetings for everyone</h1>
        <p className="muted-text">Connect and talk from anywhere, right in your browser.</p>
        <div className="home-actions">
          <button type="button" className="btn btn-primary btn-large" onClick={() => void newMeeting()} disabled={busy}>
            <Icon name="newCall" size={20} />
            {busy ? "Creating…" : "New meeting"}
          </button>
          <form className="join-by-code" onSubmit={join}>
            <label className="code-input">
              <Icon name="keyboard" size={20} />
              <input
                aria-label="Enter a code or link"
                placeholder="Enter a code or link"
                value={input}
                onChange={(e) => {
                  setInput(e.target.value);
                  setError(null);
                }}
              />
            </label>
            <button type="submit" className="btn btn-text" disabled={!input.trim()}>
              Join
            </button>
          </form>
        </div>
        {error && (
          <p className="form-error" role="alert">
            {error}
          </p>
        )}
      </section>
    </main>
  );
}
