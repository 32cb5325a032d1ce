import { initials } from "../lib/storage";

// Stable colour per name, so a person keeps their colour across tiles and lists.
const COLORS = ["#1a73e8", "#e8710a", "#188038", "#a142f4", "#d93025", "#12b5cb", "#e52592", "#9334e6"];

export function colorFor(name: string): string {
  let h = 0;
  for (const ch of name) h = (h * 31 + ch.codePointAt(0)!) >>> 0;
  return COLORS[h % COLORS.length];
}

export function Avatar({ name, size = "md" }: { name: string; size?: "sm" | "md" | "lg" }) {
  return (
    <div className={`avatar avatar-${size}`} style={{ background: colorFor(name) }} aria-hidden="true">
      <span>{initials(name)}</span>
    </div>
  );
}
