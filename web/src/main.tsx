import { createRoot } from "react-dom/client";
import { App } from "./App";
import "./styles/base.css";
import "./styles/home.css";
import "./styles/prejoin.css";
import "./styles/meeting.css";

// No StrictMode: its dev-only double effects would open and stop the camera twice and
// leave the call on the simulated unmount.
createRoot(document.getElementById("root")!).render(<App />);
