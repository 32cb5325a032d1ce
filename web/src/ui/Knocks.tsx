// For a host: a card per guest waiting in the lobby, top right over the call, with Admit and
// Deny. Cards are regions, not dialogs: they must not take focus from whoever is talking (the
// toast announces each knock). A card goes when the server says the knock was answered.

import { useId } from "react";
import type { Knock } from "../session";
import { Avatar } from "./Avatar";

interface Props {
  knocks: Knock[];
  onAdmit(knockId: string): void;
  onDeny(knockId: string): void;
}

function KnockCard({ knock, onAdmit, onDeny }: { knock: Knock } & Omit<Props, "knocks">) {
  const id = useId();
  return (
    <section className="knock" aria-labelledby={id} data-testid="knock" data-knock-id={knock.knockId}>
      <Avatar name={knock.name} size="sm" />
      <p id={id} className="knock-text">
        {knock.name} wants to join
      </p>
      <div className="knock-actions">
        <button type="button" className="btn btn-text" aria-label={`Deny ${knock.name}`} onClick={() => onDeny(knock.knockId)}>
          Deny
        </button>
        <button
          type="button"
          className="btn btn-primary"
          aria-label={`Admit ${knock.name}`}
          onClick={() => onAdmit(knock.knockId)}
        >
          Admit
        </button>
      </div>
    </section>
  );
}

export function Knocks({ knocks, onAdmit, onDeny }: Props) {
  if (knocks.length === 0) return null;
  return (
    <div className="knocks" data-testid="knocks">
      {knocks.map((k) => (
        <KnockCard key={k.knockId} knock={k} onAdmit={onAdmit} onDeny={onDeny} />
      ))}
    </div>
  );
}
