// Shown while the connection is being restored.

export function ReconnectingBanner({ attempt }: { attempt: number }) {
  return (
    <div className="banner" role="alert" data-testid="reconnecting-banner">
      <span className="spinner" aria-hidden="true" />
      Connection lost. Reconnecting{attempt > 1 ? ` (attempt ${attempt})` : ""}…
    </div>
  );
}
