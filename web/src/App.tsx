import { codeFromPath } from "./lib/roomCode";
import { usePathname } from "./lib/router";
import { Home } from "./ui/Home";
import { MeetingPage } from "./ui/MeetingPage";

export function App() {
  const code = codeFromPath(usePathname());
  return code ? <MeetingPage key={code} code={code} /> : <Home />;
}
