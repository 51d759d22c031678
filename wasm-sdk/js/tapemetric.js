// Tapemetric browser SDK: the thin ES-module entry. Loads the wasm (built by `make build-sdk` into
// ./pkg/) and exposes the API:
//
//   import { Tapemetric } from "./tapemetric.js";
//   const tm = await Tapemetric.init({ apiKey: "tmk_...", endpoint: "https://edge.example.com" });
//   const view = tm.attach(document.querySelector("video"), { contentId: "big-buck-bunny", contentType: "film" });
//   view.setContent({ contentId: "sintel" });  view.detach();
//   tm.identify("user-42", { plan: "gold" });  tm.reset();  tm.trackPageView("/watch");  tm.track("share", { to: "x" });
import wasmInit, { Tapemetric as WasmClient } from "./pkg/wasm_sdk.js";

let ready = null;

export const Tapemetric = {
  /** Loads the SDK once and starts a client. Never throws: on failure it logs and returns a no-op client. */
  async init(options = {}) {
    try {
      ready ??= wasmInit({ module_or_path: new URL("./pkg/wasm_sdk_bg.wasm", import.meta.url) });
      await ready;
      return WasmClient.init(options);
    } catch (error) {
      console.warn("tapemetric: could not start", error);
      const noop = () => undefined;
      return { attach: () => ({ setContent: noop, detach: noop, viewId: noop }), identify: noop, reset: noop,
               trackPageView: noop, track: noop, flush: noop, pendingEvents: () => 0 };
    }
  },
};

export default Tapemetric;
