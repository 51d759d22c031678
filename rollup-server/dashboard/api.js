// The dashboard's only way to the data: the rollup server's own APIs, with the signed-in token. The
// token lives in this tab's sessionStorage; the tenant is the token's, never a parameter.

const TOKEN_KEY = "tapemetric.token";

/** The signed-in token, or null. */
export function savedToken() {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function saveToken(token) {
  sessionStorage.setItem(TOKEN_KEY, token);
}

export function forgetToken() {
  sessionStorage.removeItem(TOKEN_KEY);
}

/** A token's claims ({tenant, role, exp}), for display only: the server checks every request. */
export function claimsOf(token) {
  try {
    const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const claims = JSON.parse(atob(part.padEnd(Math.ceil(part.length / 4) * 4, "=")));
    return typeof claims.tenant === "string" ? claims : null;
  } catch {
    return null;
  }
}

/** An answer other than 2xx: `status` 0 when the server did not answer. */
export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

let whenRefused = () => {};

/** Called with the error when the server refuses the token (401). */
export function onTokenRefused(handler) {
  whenRefused = handler;
}

/** Calls an API with the token; resolves to the JSON answer, rejects with an ApiError. */
export async function call(method, path, body, token = savedToken()) {
  const headers = { Authorization: `Bearer ${token}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store",
    });
  } catch (e) {
    throw new ApiError(0, `the server did not answer (${e.message})`);
  }
  const text = await response.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  if (!response.ok) {
    const error = new ApiError(response.status, json?.error ?? (text || response.statusText));
    if (response.status === 401 && token === savedToken()) whenRefused(error);
    throw error;
  }
  return json;
}

/** Like `call` for a GET, but answers null when the route does not exist on this server (404). */
export async function optional(path) {
  try {
    return await call("GET", path);
  } catch (e) {
    if (e.status === 404) return null;
    throw e;
  }
}

/** The dimensions one can break down and filter by (`GET /data/views/query`), with their labels. */
export const DIMENSIONS = [
  { id: "playbackId", label: "Content" },
  { id: "contentType", label: "Content type" },
  { id: "country", label: "Country" },
  { id: "continent", label: "Continent" },
  { id: "subdivision", label: "Region" },
  { id: "timezone", label: "Time zone" },
  { id: "browser", label: "Browser" },
  { id: "os", label: "OS" },
  { id: "deviceType", label: "Device type" },
  { id: "device", label: "Device" },
  { id: "source", label: "Source page" },
];

/** Dimensions `GET /data/views/now` can break down by. */
export const REALTIME_DIMENSIONS = ["playbackId", "device", "browser", "country"];

export function dimensionLabel(id) {
  return DIMENSIONS.find((d) => d.id === id)?.label ?? id;
}

/**
 * `GET /data/views/query` for a window, a time step, breakdowns and filters. A filter is sent as
 * `<dimension>=<value>` (the content as `playbackId=`).
 */
export function viewsQueryPath({ fromMs, toMs, timeStep, breakdownBy = [], filters = [] }) {
  const params = new URLSearchParams({ from: String(fromMs), to: String(toMs) });
  if (timeStep) params.set("timeStep", timeStep);
  for (const dimension of breakdownBy) params.append("breakdownBy[]", dimension);
  for (const { dimension, value } of filters) params.append(dimension, value);
  return `/data/views/query?${params}`;
}

/** `GET /data/views/now`. */
export function viewsNowPath({ contentId, breakdownBy = [] }) {
  const params = new URLSearchParams();
  if (contentId) params.set("playbackId", contentId);
  for (const dimension of breakdownBy) params.append("breakdownBy[]", dimension);
  const query = params.toString();
  return query ? `/data/views/now?${query}` : "/data/views/now";
}

/** mave-style routes (`/api/v1/plays`, `/api/v1/engagement`) take unix seconds. */
export function maveWindow({ fromMs, toMs, contentId }) {
  const params = new URLSearchParams({ from: String(Math.floor(fromMs / 1000)), to: String(Math.ceil(toMs / 1000)) });
  if (contentId) params.set("identifier", contentId);
  return params;
}

/** A number field of an answer, or NaN when it is missing. */
export function numberOf(row, field) {
  const value = row?.[field];
  return typeof value === "number" ? value : Number.NaN;
}
