// The Stage page (docs/stage.md, "The Stage page"): follows GET /v1/stage/@{user} and plays what
// it says — nothing (offline), the LL-HLS live stream, or the replay — in one <video> element
// that lives as long as the page. Switching never reloads the page or replaces the element: only
// the hls.js instance attached to it is replaced.
"use strict";

(function () {
  const POLL_MS = 1500;
  // A live player this far behind the live edge speeds up to catch up (hls.js LL-HLS catch-up).
  const LIVE_SYNC_RATE = 1.5;
  const STALL_RELOAD_MS = 6000;

  const video = document.getElementById("player");
  const overlay = document.getElementById("overlay");
  const badge = document.getElementById("badge");
  const latencyEl = document.getElementById("latency");
  const params = new URLSearchParams(location.search);
  const user = decodeURIComponent(location.pathname.replace(/^\/@/, "").split("/")[0] || params.get("user") || "");
  const tenant = params.get("tenant");

  // What tests and operators can inspect: the state, every transition, the element and player.
  const page = (window.omnicastStage = {
    user, state: "loading", url: null, video, hls: null, latency: null, transitions: [], recoveries: 0,
  });

  document.getElementById("who").textContent = "@" + user;
  document.getElementById("deeplink").textContent = "omni://stage/" + user;

  function show(state, text) {
    document.body.dataset.state = state;
    badge.textContent = state === "live" ? "● LIVE" : state === "replay" ? "Replay" : "Offline";
    overlay.hidden = !text;
    overlay.textContent = text || "";
  }

  function detach() {
    if (page.hls) page.hls.destroy();
    page.hls = null;
    page.url = null;
    video.removeAttribute("src");
    video.load();
  }

  function attach(url, live) {
    if (page.hls) page.hls.destroy();
    page.url = url;
    const hls = new Hls(
      live
        ? { lowLatencyMode: true, maxLiveSyncPlaybackRate: LIVE_SYNC_RATE, liveDurationInfinity: true }
        : { lowLatencyMode: false });
    page.hls = hls;
    // A publisher reconnect shows up as a discontinuity (hls.js follows it) or, while nobody
    // publishes, as requests that stall: retry those instead of giving up.
    hls.on(Hls.Events.ERROR, (_event, data) => {
      if (!data.fatal || page.hls !== hls) return;
      page.recoveries++;
      if (data.type === Hls.ErrorTypes.MEDIA_ERROR) hls.recoverMediaError();
      else setTimeout(() => page.hls === hls && hls.startLoad(-1), 1000);
    });
    hls.loadSource(url);
    hls.attachMedia(video);
    video.play().catch(() => {});
  }

  function follow(doc) {
    const state = doc.state;
    const url = doc.playback ? doc.playback.url : null;
    document.getElementById("title").textContent = doc.title || "";
    if (state !== page.state) {
      page.transitions.push({ from: page.state, to: state, at: Date.now() });
      page.state = state;
    }
    if (state === "live" || state === "replay") {
      show(state, null);
      if (page.url !== url) attach(url, state === "live");
    } else {
      show("offline", "Offline");
      if (page.hls) detach();
    }
  }

  async function poll() {
    try {
      const q = tenant ? "?tenant=" + encodeURIComponent(tenant) : "";
      const r = await fetch("/v1/stage/@" + encodeURIComponent(user) + q, { cache: "no-store" });
      if (r.ok) follow(await r.json());
    } catch (_) {
      // the node restarting: keep what plays, ask again
    }
    setTimeout(poll, POLL_MS);
  }

  // Live latency as hls.js estimates it (seconds behind the live edge's program time).
  let lastTime = 0, lastAdvance = Date.now();
  setInterval(() => {
    const hls = page.hls;
    if (page.state === "live" && hls && Number.isFinite(hls.latency) && hls.latency > 0) {
      page.latency = hls.latency;
      latencyEl.hidden = false;
      latencyEl.textContent = "latency " + hls.latency.toFixed(2) + " s";
    } else {
      page.latency = null;
      latencyEl.hidden = true;
    }
    if (video.currentTime !== lastTime) {
      lastTime = video.currentTime;
      lastAdvance = Date.now();
    } else if (page.state === "live" && hls && Date.now() - lastAdvance > STALL_RELOAD_MS) {
      // Stuck at a gap the player would not jump: start again from the live edge.
      page.recoveries++;
      lastAdvance = Date.now();
      attach(page.url, true);
    }
  }, 500);

  if (!window.Hls || !Hls.isSupported()) show("offline", "This browser cannot play HLS with Media Source Extensions");
  else poll();
})();
