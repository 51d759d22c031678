// Tapemetric browser SDK: the ES-module entry (API: README). Loads the wasm that scripts/build-sdk.sh
// builds into ./pkg/. Pages download this file as it is: keep it short.
import init, { Tapemetric as Client } from "./pkg/wasm_sdk.js";

let ready;
const noop = () => {};

export const Tapemetric = {
  /** Loads the SDK once and starts a client. Never throws: on failure it logs and returns a no-op client. */
  async init(options = {}) {
    try {
      await (ready ??= init({ module_or_path: new URL("./pkg/wasm_sdk_bg.wasm", import.meta.url) }));
      return Client.init(options);
    } catch (error) {
      console.warn("tapemetric: could not start", error);
      return { attach: () => ({ setContent: noop, detach: noop, viewId: noop }), identify: noop, reset: noop,
               trackPageView: noop, track: noop, flush: noop, pendingEvents: () => 0 };
    }
  },
};

export default Tapemetric;
