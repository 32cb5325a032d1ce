// How many tiles the grid shows at once, by window size: beyond it tiles go to other pages
// (not rendered, so their video costs nothing). More, smaller tiles on bigger screens.

/** [most CSS pixels of window area, tiles]: 800×600 → 4, 1280×720 → 9, 1920×1080 → 16. */
const CAPS: readonly [number, number][] = [
  [500_000, 4],
  [1_500_000, 9],
  [2_800_000, 16],
];
const LARGEST_CAP = 25;

export function tileCapFor(width: number, height: number): number {
  const area = Math.max(0, width) * Math.max(0, height);
  for (const [maxArea, cap] of CAPS) if (area < maxArea) return cap;
  return LARGEST_CAP;
}
