// How numbers and times read on the dashboard. Times of buckets are UTC (the query API truncates in
// UTC), so they are shown in UTC; the time of the last load is the viewer's wall clock.

const counts = new Intl.NumberFormat("en-US");
const regions = typeof Intl.DisplayNames === "function" ? new Intl.DisplayNames(["en"], { type: "region" }) : null;

/** Shown where a figure is not available. */
export const MISSING = "—";

/** 12,345 */
export function count(n) {
  return Number.isFinite(n) ? counts.format(Math.round(n)) : MISSING;
}

/** Watch time from minutes: "3 h 05 min", "12 min", "40 s". */
export function watchTime(minutes) {
  if (!Number.isFinite(minutes)) return MISSING;
  const seconds = Math.round(minutes * 60);
  if (seconds < 60) return `${seconds} s`;
  const totalMinutes = Math.round(minutes);
  if (totalMinutes < 60) return `${totalMinutes} min`;
  const hours = Math.floor(totalMinutes / 60);
  return `${counts.format(hours)} h ${String(totalMinutes % 60).padStart(2, "0")} min`;
}

/** "840 ms", "2.4 s" */
export function millis(ms) {
  if (!Number.isFinite(ms)) return MISSING;
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/** A ratio as a percentage: "3.2 %". */
export function percent(ratio) {
  if (!Number.isFinite(ratio)) return MISSING;
  const p = ratio * 100;
  return `${p === 0 || p >= 10 ? p.toFixed(0) : p.toFixed(1)} %`;
}

/** A compact axis label for a number: 1.2k, 3M. */
export function compact(n) {
  if (!Number.isFinite(n)) return "";
  const abs = Math.abs(n);
  if (abs >= 1e6) return `${+(n / 1e6).toFixed(1)}M`;
  if (abs >= 1e3) return `${+(n / 1e3).toFixed(1)}k`;
  return `${+n.toFixed(abs < 10 ? 2 : 0)}`;
}

/** A bucket start (epoch ms, UTC) labelled for its time step. */
export function bucketLabel(ms, step) {
  const iso = new Date(ms).toISOString(); // 2026-11-20T13:00:00.000Z
  if (step === "hour") return `${iso.slice(5, 10)} ${iso.slice(11, 16)}`;
  if (step === "month") return iso.slice(0, 7);
  if (step === "year") return iso.slice(0, 4);
  return iso.slice(0, 10);
}

/** A date-time for tables: "2026-11-20 13:04 UTC". */
export function dateTime(ms) {
  if (!Number.isFinite(ms)) return MISSING;
  const iso = new Date(ms).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;
}

/** A position in a video, in seconds: "1:05". */
export function mediaTime(seconds) {
  if (!Number.isFinite(seconds)) return "";
  const s = Math.round(seconds);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

/** A dimension value for people: country codes get their name. */
export function dimensionValue(dimension, value) {
  if (value === undefined || value === null || value === "") return "(unknown)";
  if (dimension === "country" && regions && /^[A-Z]{2}$/.test(value)) {
    try {
      return `${regions.of(value)} (${value})`;
    } catch {
      return value;
    }
  }
  return String(value);
}
