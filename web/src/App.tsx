import { useEffect } from "react";
import { codeFromPath } from "./lib/roomCode";
import { navigate, usePathname } from "./lib/router";
import { Home } from "./ui/Home";
import { LiveRegion } from "./ui/LiveRegion";
import { MeetingPage } from "./ui/MeetingPage";

export function App() {
  const path = usePathname();
  const code = codeFromPath(path);
  // Links typed in capitals (ABC-DEFG-HIJ) still lead to the meeting.
  const lower = path.toLowerCase();
  const fixable = !code && lower !== path && codeFromPath(lower);
  useEffect(() => {
    if (fixable) navigate(lower, true);
  }, [fixable, lower]);
  return (
    <>
      {code ? <MeetingPage key={code} code={code} /> : fixable ? null : <Home />}
      <LiveRegion />
    </>
  );
}
