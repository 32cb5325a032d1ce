// In-call messages. Messages render only from the server's echo, so everyone sees the same
// order and nothing shows that was not delivered.

import { useEffect, useRef, useState } from "react";
import { MAX_CHAT_CHARS } from "../protocol.gen";
import type { ChatMessage } from "../session";
import { Icon } from "./icons";
import { SidePanel } from "./SidePanel";

interface Props {
  messages: ChatMessage[];
  selfId: string | undefined;
  canSend: boolean;
  onSend(text: string): boolean;
  onClose(): void;
}

export function ChatPanel({ messages, selfId, canSend, onSend, onClose }: Props) {
  const [text, setText] = useState("");
  const listRef = useRef<HTMLOListElement>(null);
  useEffect(() => {
    const el = listRef.current;
    if (el) el.scrollTop = el.scrollHeight;
  }, [messages.length]);
  const submit = (e: React.FormEvent) => {
    e.preventDefault();
    if (onSend(text)) setText("");
  };
  return (
    <SidePanel title="In-call messages" onClose={onClose}>
      <p className="panel-note">Messages can only be seen by people in the call and are deleted when the call ends.</p>
      <ol className="chat-list" ref={listRef} aria-live="polite" data-testid="chat-messages">
        {messages.map((m) => (
          <li key={m.id} className="chat-msg">
            <div className="chat-meta">
              <strong>{m.participantId === selfId ? "You" : m.name}</strong>
              <time dateTime={new Date(m.sentAt).toISOString()}>
                {new Date(m.sentAt).toLocaleTimeString([], { hour: "numeric", minute: "2-digit" })}
              </time>
            </div>
            <div className="chat-text">{m.text}</div>
          </li>
        ))}
      </ol>
      <form className="chat-form" onSubmit={submit}>
        <input
          aria-label="Send a message to everyone"
          placeholder="Send a message"
          value={text}
          maxLength={MAX_CHAT_CHARS}
          onChange={(e) => setText(e.target.value)}
          disabled={!canSend}
        />
        <button type="submit" className="icon-btn" aria-label="Send message" disabled={!canSend || !text.trim()}>
          <Icon name="send" />
        </button>
      </form>
    </SidePanel>
  );
}
