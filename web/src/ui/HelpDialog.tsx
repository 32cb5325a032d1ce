// The keyboard shortcuts, opened with `?` or from the control bar.

import { Modal } from "./Modal";
import { shortcuts } from "./shortcuts";

export function HelpDialog({ onClose }: { onClose(): void }) {
  return (
    <Modal title="Keyboard shortcuts" onClose={onClose} className="help-dialog">
      <table className="shortcuts">
        <thead>
          <tr>
            <th scope="col">Keys</th>
            <th scope="col">Does</th>
          </tr>
        </thead>
        <tbody>
          {shortcuts().map((s) => (
            <tr key={s.action}>
              <td>
                <kbd>{s.keys}</kbd>
              </td>
              <td>{s.what}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <p className="muted-text">Tab moves between controls; Enter or Space presses one; Escape closes menus and dialogs.</p>
    </Modal>
  );
}
