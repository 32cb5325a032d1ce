// A guest waiting in the lobby for a host to let it in. Nothing of the meeting shows yet.

export function LobbyScreen({ onCancel }: { onCancel(): void }) {
  return (
    <main className="end-screen lobby-screen" data-testid="lobby">
      <span className="spinner lobby-spinner" aria-hidden="true" />
      <h1>Asking to join…</h1>
      <p role="status">You'll join the call when someone lets you in</p>
      <div className="end-actions">
        <button type="button" className="btn btn-outline" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </main>
  );
}
