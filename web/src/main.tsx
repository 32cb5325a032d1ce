import { createRoot } from "react-dom/client";
import { App } from "./App";
import { captureInvite } from "./lib/invite";
import { codeFromPath } from "./lib/roomCode";
import "./styles/base.css";
import "./styles/home.css";
import "./styles/prejoin.css";
import "./styles/meeting.css";
import "./styles/gestures.css";
import "./styles/dialogs.css";

// No StrictMode: its dev-only double effects would open and stop the camera twice and
// leave the call on the simulated unmount.
// Before anything renders: an invite token in the address bar is taken and hidden at once.
captureInvite(codeFromPath(window.location.pathname.toLowerCase()));
createRoot(document.getElementById("root")!).render(<App />);
