// Shown while the connection is being restored.

export function ReconnectingBanner({ attempt }: { attempt: number }) {
  return (
    <div className="banner" role="alert" data-testid="reconnecting-banner">
      <span className="spinner" aria-hidden="true" />
      Connection lost. Reconnecting{attempt > 1 ? ` (attempt ${attempt})` : ""}…
    </div>
  );
}

/** The room is moving to another media server: the call goes on, media may pause briefly. */
export function MovingBanner() {
  return (
    <div className="banner banner-info" role="status" data-testid="moving-banner">
      <span className="spinner" aria-hidden="true" />
      Reconnecting…
    </div>
  );
}
