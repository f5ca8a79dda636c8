// The room page (docs/rooms.md; the protocol: docs/api.md, "WebRTC signaling"): joins a duo,
// circle, party or roulette room with the participant token of the URL fragment
// (/web/room.html#token=…), publishes the camera and the microphone, and shows every remote
// participant. One RTCPeerConnection carries everything (publications and subscriptions, bundled);
// the page always makes the offer and the node answers, so every change of tracks is one
// offer/answer exchange on that connection, one at a time.
"use strict";

(function () {
  const PING_MS = 20000;

  const $ = (id) => document.getElementById(id);
  const tilesEl = $("tiles");
  const preview = $("preview");
  const errorsEl = $("errors");
  const statusEl = $("status");
  const buttons = { mic: $("mute-mic"), cam: $("mute-cam"), next: $("next"), leave: $("leave"), sound: $("sound") };

  const token = new URLSearchParams(location.hash.replace(/^#/, "")).get("token");

  // One tile per remote participant (roulette: one tile for whoever the partner is), keyed by
  // participant id (roulette: "partner").
  const tiles = new Map();
  // Our consumers by consumer id: {consumerId, producerId, participant, kind, transceiver, tile}.
  const consumers = new Map();
  // Roulette re-pointings that overtook the subscribe they belong to (the node pushes them right
  // after its reply, while the page is still applying the answer): kept until the consumer exists.
  const earlyRepoints = new Map();
  // Producer ids we asked for and the node refused: asking again on every push would only repeat
  // the refusal.
  const refusedProducers = new Set();

  // What tests and operators can inspect.
  const page = (window.omnicastRoom = {
    participant: null, tenant: null, sessionId: null, roomId: null, mode: null, role: null,
    joined: false, left: false,
    transportState: "new",        // the RTCPeerConnection's connectionState
    nodeTransportState: null,     // the node's `transport` push
    partner: null,                // roulette
    producers: [],                // the latest `producers` push
    published: [],                // ours: [{producer_id, mid, kind, codec}]
    mic: { muted: false }, cam: { muted: false },
    negotiations: 0,              // offer/answer exchanges completed
    timing: {},                   // ms since navigation: hello, joined, published, connected, first_remote_frame
    errors: [],                   // [{context, code, message, correlation_id, at}]
    get remote() {
      return [...tiles.values()].map((t) => {
        const q = t.video.getVideoPlaybackQuality ? t.video.getVideoPlaybackQuality() : null;
        return {
          participant: t.participant,
          producerIds: [...consumers.values()].filter((c) => c.tile === t && c.producerId).map((c) => c.producerId),
          videoWidth: t.video.videoWidth,
          videoHeight: t.video.videoHeight,
          currentTime: t.video.currentTime,
          framesDecoded: q ? q.totalVideoFrames : null,
          framesPresented: t.framesPresented,
        };
      });
    },
  });

  // ---- on screen ------------------------------------------------------------------------------

  function mark(what) {
    if (!(what in page.timing)) page.timing[what] = Math.round(performance.now());
  }

  function setStatus(state, text) {
    document.body.dataset.state = state;
    statusEl.textContent = text;
  }

  function fail(context, err) {
    const e = {
      context,
      code: (err && err.code) || "error",
      message: (err && err.message) || String(err),
      correlation_id: (err && err.correlation_id) || null,
      at: Date.now(),
    };
    page.errors.push(e);
    const li = document.createElement("li");
    const code = document.createElement("code");
    code.textContent = e.code;
    li.append(context + ": ", code, " " + e.message + (e.correlation_id ? " (" + e.correlation_id + ")" : ""));
    errorsEl.append(li);
    errorsEl.hidden = false;
    console.error("omnicast room:", context, e);
  }

  function protocolError(code, message) {
    return Object.assign(new Error(message), { code });
  }

  // Display only: the node checks the token; the page reads its mode claim to know the room kind
  // before `join` answers.
  function claimsOf(jwt) {
    try {
      const b64 = jwt.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
      return JSON.parse(atob(b64 + "===".slice((b64.length + 3) % 4)));
    } catch (_) {
      return {};
    }
  }

  // ---- signaling ------------------------------------------------------------------------------

  let ws = null;
  let nextId = 1;
  const pending = new Map(); // id → {resolve, reject, type}

  // Sends one message; resolves the reply's result, rejects with the node's error (code, message,
  // correlation_id) when it refuses.
  function request(type, fields) {
    return new Promise((resolve, reject) => {
      if (!ws || ws.readyState !== WebSocket.OPEN)
        return reject(protocolError("disconnected", "the signaling connection is closed"));
      const id = "m" + nextId++;
      pending.set(id, { resolve, reject, type });
      ws.send(JSON.stringify(Object.assign({ type, id }, fields)));
    });
  }

  function onReply(msg) {
    const p = pending.get(msg.id);
    if (!p) return;
    pending.delete(msg.id);
    if (msg.type === "pong") return p.resolve({});
    if (msg.ok) return p.resolve(msg.result || {});
    const err = msg.error || {};
    p.reject(Object.assign(new Error(err.message || "refused"),
      { code: err.code || "refused", correlation_id: err.correlation_id }));
  }

  function onMessage(ev) {
    let msg;
    try {
      msg = JSON.parse(ev.data);
    } catch (_) {
      return fail("signaling", protocolError("bad_message", "the node sent a frame that is not JSON"));
    }
    switch (msg.type) {
      case "hello": return onHello(msg);
      case "reply": case "pong": return onReply(msg);
      case "producers": return onProducers(msg.producers || []);
      case "pair": return onPair(msg.partner === undefined ? null : msg.partner);
      case "consumer": return onConsumerRepointed(msg);
      case "transport": return onNodeTransport(msg.state);
      default: return; // ledger events and anything newer: not for this page
    }
  }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    ws = new WebSocket(scheme + location.host + "/v1/ws?token=" + encodeURIComponent(token));
    ws.onmessage = onMessage;
    ws.onclose = (ev) => {
      for (const p of pending.values()) p.reject(protocolError("disconnected", "the signaling connection closed"));
      pending.clear();
      if (page.left) return;
      setStatus("closed", "Disconnected");
      fail("signaling", protocolError("disconnected",
        "the connection to the node closed (" + ev.code + (ev.reason ? " " + ev.reason : "") + ")" +
        (page.joined ? "" : ": is the token valid and unexpired?")));
      page.joined = false;
      setControls();
    };
    setInterval(() => ws.readyState === WebSocket.OPEN && request("ping", {}).catch(() => {}), PING_MS);
  }

  // ---- the peer connection and its serialised negotiations -----------------------------------

  // ICE-lite node, host candidates only: no STUN/TURN servers; one transport for everything.
  if (!window.RTCPeerConnection) {
    setStatus("failed", "Unsupported browser");
    return fail("browser", protocolError("unsupported", "this browser has no WebRTC (RTCPeerConnection)"));
  }
  const pc = new RTCPeerConnection({ bundlePolicy: "max-bundle", rtcpMuxPolicy: "require" });
  let localStream = null;
  const senders = { audio: null, video: null }; // our publishing transceivers

  pc.onconnectionstatechange = () => {
    page.transportState = pc.connectionState;
    if (pc.connectionState === "connected") mark("connected");
    if (pc.connectionState === "failed" && !page.left)
      fail("transport", protocolError("transport_failed", "the media connection failed (ICE or DTLS)"));
    showJoined();
  };

  // Trickle: our candidates go to the node once it has our first offer; before that the transport
  // they belong to does not exist on the node. mDNS (.local) names are not sent: the node cannot
  // resolve them, and an ICE-lite node learns our address from our own connectivity checks anyway.
  let candidatesReady = false;
  const heldCandidates = [];
  pc.onicecandidate = (ev) => {
    if (ev.candidate && !ev.candidate.candidate) return; // per-section end marker; the null event ends all
    const c = ev.candidate ? ev.candidate.candidate : "";
    if (/ [0-9a-f-]+\.local /i.test(c)) return;
    if (candidatesReady) sendCandidate(c);
    else heldCandidates.push(c);
  };
  function sendCandidate(c) {
    request("candidate", { candidate: c }).catch((e) => fail("candidate", e));
  }

  // One offer/answer at a time: every change waits for the one in flight. A step prepares its
  // transceivers, then names the message that carries the offer and what to do with the answer.
  let chain = Promise.resolve();
  function negotiate(context, prepare) {
    const run = chain.then(async () => {
      if (page.left || !page.joined) return;
      const step = prepare();
      if (!step) return;
      try {
        await pc.setLocalDescription(await pc.createOffer());
        const result = await request(step.type, Object.assign({ sdp: pc.localDescription.sdp }, step.fields()));
        if (typeof result.sdp !== "string") throw protocolError("bad_answer", step.type + " answered without an sdp");
        await pc.setRemoteDescription({ type: "answer", sdp: result.sdp });
        page.negotiations++;
        if (!candidatesReady) {
          candidatesReady = true;
          heldCandidates.splice(0).forEach(sendCandidate);
        }
        if (step.done) step.done(result);
      } catch (e) {
        // Back to the last agreed state so that the next change starts from it.
        if (pc.signalingState === "have-local-offer")
          await pc.setLocalDescription({ type: "rollback" }).catch(() => {});
        if (step.failed) step.failed(e);
        throw e;
      }
    });
    chain = run.catch((e) => page.left || fail(context, e));
    return chain;
  }

  // ---- hello, join, publish -------------------------------------------------------------------

  function onHello(msg) {
    mark("hello");
    page.participant = msg.participant;
    page.tenant = msg.tenant;
    page.sessionId = msg.session_id;
    page.roomId = msg.room_id;
    page.role = msg.role;
    page.mode = msg.mode || claimsOf(token).mode || null;
    $("room").textContent = "Room " + msg.room_id;
    $("me").textContent = msg.participant + " (" + msg.role + ")";
    $("local-name").textContent = "You: " + msg.participant;
    if (page.mode) {
      $("mode").textContent = page.mode;
      $("mode").hidden = false;
    }
    setStatus("joining", "Joining…");
    join();
  }

  async function join() {
    let result;
    try {
      result = await request("join", {});
    } catch (e) {
      setStatus("failed", "Not joined");
      return fail("join", e);
    }
    page.joined = true;
    mark("joined");
    page.role = result.role || page.role;
    // A token without a mode claim: only roulette answers a join with `partner`.
    if (!page.mode && "partner" in result) page.mode = "roulette";
    if (page.mode === "roulette") onPair(result.partner === undefined ? null : result.partner);
    buttons.next.hidden = page.mode !== "roulette";
    showJoined();
    setControls();
    if (page.role !== "sub") await publish();
    if (page.mode === "roulette") subscribePartner();
    subscriptionsReady = true;
    reconcile();
  }

  async function publish() {
    try {
      if (!navigator.mediaDevices)
        throw protocolError("insecure_context", "the camera needs a secure page (https, or http on localhost)");
      localStream = await navigator.mediaDevices.getUserMedia({ video: true, audio: true });
    } catch (e) {
      const code = e.code || e.name || "getUserMedia";
      return fail("camera and microphone", protocolError(code, e.message || "not available"));
    }
    preview.srcObject = localStream;
    $("local").hidden = false;
    preview.play().catch(() => {});
    let added = [];
    return negotiate("publish", () => {
      added = localStream.getTracks().map((track) =>
        pc.addTransceiver(track, { direction: "sendonly", streams: [localStream] }));
      return {
        type: "publish",
        fields: () => ({
          tracks: added.map((t) => {
            const kind = t.sender.track.kind;
            return { mid: t.mid, kind, name: kind === "video" ? "camera" : "microphone" };
          }),
        }),
        done: (result) => {
          for (const t of added) senders[t.sender.track.kind] = t;
          page.published = result.producers || [];
          mark("published");
          // A mute pressed while the publish was in flight reaches the node now.
          for (const kind of ["audio", "video"]) if (muteState(kind).muted) sendMute(kind);
          setControls();
        },
        failed: () => added.forEach((t) => t.stop()),
      };
    });
  }

  // ---- subscriptions --------------------------------------------------------------------------

  let subscriptionsReady = false;
  let reconcileQueued = false;

  function onProducers(list) {
    page.producers = list;
    for (const t of tiles.values()) showFlags(t);
    reconcile();
  }

  // Brings our consumers in line with the latest producers list: one unsubscribe for what went
  // away, one subscribe for what is new. Pushes that arrive while this waits are folded into it.
  function reconcile() {
    if (!subscriptionsReady || reconcileQueued || page.mode === "roulette") return;
    reconcileQueued = true;
    let gone = [];
    let added = [];
    negotiate("unsubscribe", () => {
      reconcileQueued = false;
      const live = new Set(page.producers.map((p) => p.producer_id));
      gone = [...consumers.values()].filter((c) => !live.has(c.producerId));
      if (!gone.length) return null;
      gone.forEach((c) => c.transceiver.stop());
      return {
        type: "unsubscribe",
        fields: () => ({ consumer_ids: gone.map((c) => c.consumerId) }),
        done: () => gone.forEach(removeConsumer),
        // The transceivers are stopped either way: forget them so that the page stays consistent.
        failed: () => gone.forEach(removeConsumer),
      };
    });
    negotiate("subscribe", () => {
      const have = new Set([...consumers.values()].map((c) => c.producerId));
      const wanted = page.producers.filter((p) => !have.has(p.producer_id) && !refusedProducers.has(p.producer_id) &&
        p.participant !== page.participant);
      if (!wanted.length) return null;
      added = wanted.map((p) => ({ producer: p, transceiver: pc.addTransceiver(p.kind, { direction: "recvonly" }) }));
      return {
        type: "subscribe",
        fields: () => ({
          consumers: added.map((a) => ({ mid: a.transceiver.mid, producer_id: a.producer.producer_id })),
        }),
        done: (result) => {
          const byMid = new Map((result.consumers || []).map((c) => [c.mid, c]));
          for (const a of added) {
            const c = byMid.get(a.transceiver.mid);
            if (!c) {
              refusedProducers.add(a.producer.producer_id);
              a.transceiver.stop();
              continue;
            }
            addConsumer(c.consumer_id, a.producer.producer_id, a.producer.participant, a.producer.kind, a.transceiver);
          }
          resume(result.consumers);
        },
        failed: () => added.forEach((a) => {
          refusedProducers.add(a.producer.producer_id);
          a.transceiver.stop();
        }),
      };
    });
  }

  // Roulette: two sections that receive whoever the partner is, now and after every `next`,
  // without another offer.
  function subscribePartner() {
    let added = [];
    negotiate("subscribe (partner)", () => {
      added = ["video", "audio"].map((kind) => ({
        kind, transceiver: pc.addTransceiver(kind, { direction: "recvonly" }),
      }));
      return {
        type: "subscribe",
        fields: () => ({ consumers: added.map((a) => ({ mid: a.transceiver.mid, kind: a.kind, partner: true })) }),
        done: (result) => {
          const byMid = new Map((result.consumers || []).map((c) => [c.mid, c]));
          for (const a of added) {
            const c = byMid.get(a.transceiver.mid);
            if (c) addConsumer(c.consumer_id, c.producer_id || null, "partner", a.kind, a.transceiver);
          }
          resume(result.consumers);
        },
        failed: () => added.forEach((a) => a.transceiver.stop()),
      };
    });
  }

  // The node forwards nothing to a new consumer until it is resumed: only now, with the answer
  // applied, does the browser know where that media goes.
  function resume(consumersOfReply) {
    const ids = (consumersOfReply || []).map((c) => c.consumer_id);
    if (ids.length) request("resume", { consumer_ids: ids }).catch((e) => page.left || fail("resume", e));
  }

  function addConsumer(consumerId, producerId, participant, kind, transceiver) {
    const tile = tileFor(participant);
    if (earlyRepoints.has(consumerId)) {
      producerId = earlyRepoints.get(consumerId);
      earlyRepoints.delete(consumerId);
    }
    const c = { consumerId, producerId, participant, kind, transceiver, tile };
    consumers.set(consumerId, c);
    tile.stream.addTrack(transceiver.receiver.track);
    // A new MediaStream track does not restart a paused element.
    tile.video.play().catch(onAutoplayBlocked.bind(null, tile));
    showFlags(tile);
  }

  function removeConsumer(c) {
    consumers.delete(c.consumerId);
    const tile = c.tile;
    tile.stream.removeTrack(c.transceiver.receiver.track);
    if (![...consumers.values()].some((o) => o.tile === tile)) {
      tiles.delete(tile.key);
      tile.el.remove();
    }
  }

  function onConsumerRepointed(msg) {
    const c = consumers.get(msg.consumer_id);
    if (!c) return void earlyRepoints.set(msg.consumer_id, msg.producer_id || null);
    c.producerId = msg.producer_id || null;
    showFlags(c.tile);
  }

  function onPair(partner) {
    page.partner = partner;
    if (page.mode !== "roulette") return;
    const tile = tiles.get("partner");
    if (tile) showPartner(tile);
  }

  function showPartner(tile) {
    tile.participant = page.partner;
    tile.el.dataset.participant = page.partner || "";
    tile.name.textContent = page.partner || "Waiting for a partner…";
    if (page.partner) delete tile.el.dataset.waiting;
    else tile.el.dataset.waiting = "";
    showFlags(tile);
  }

  function tileFor(key) {
    let tile = tiles.get(key);
    if (tile) return tile;
    const el = $("tile-template").content.firstElementChild.cloneNode(true);
    tile = {
      key, el, participant: key, stream: new MediaStream(), framesPresented: 0,
      video: el.querySelector("video"), name: el.querySelector(".name"), flags: el.querySelector(".flags"),
    };
    el.dataset.key = key;
    el.dataset.participant = key;
    tile.name.textContent = key;
    tile.video.srcObject = tile.stream;
    // Frames actually painted: what a viewer sees advance (currentTime of a MediaStream runs on
    // even while no video arrives).
    const count = () => {
      mark("first_remote_frame");
      tile.framesPresented++;
      tile.video.requestVideoFrameCallback(count);
    };
    if (tile.video.requestVideoFrameCallback) tile.video.requestVideoFrameCallback(count);
    tiles.set(key, tile);
    tilesEl.append(el);
    if (key === "partner") showPartner(tile);
    return tile;
  }

  function showFlags(tile) {
    const mine = page.producers.filter((p) =>
      [...consumers.values()].some((c) => c.tile === tile && c.producerId === p.producer_id));
    const off = mine.filter((p) => p.muted).map((p) => (p.kind === "video" ? "camera off" : "mic off"));
    tile.flags.textContent = off.join(" · ");
  }

  // Browsers may refuse to start sound without a user gesture: play muted, offer a button.
  function onAutoplayBlocked(tile) {
    tile.video.muted = true;
    tile.video.play().catch(() => {});
    buttons.sound.hidden = false;
  }
  buttons.sound.onclick = () => {
    for (const t of tiles.values()) {
      t.video.muted = false;
      t.video.play().catch(() => {});
    }
    buttons.sound.hidden = true;
  };

  // ---- mute, next, leave ----------------------------------------------------------------------

  const muteState = (kind) => (kind === "video" ? page.cam : page.mic);
  const producerOf = (kind) => page.published.find((p) => p.kind === kind);

  function sendMute(kind) {
    const p = producerOf(kind);
    if (!p) return;
    const muted = muteState(kind).muted;
    request("mute", { producer_id: p.producer_id, muted }).catch((e) => fail("mute " + kind, e));
  }

  function toggleMute(kind) {
    const st = muteState(kind);
    st.muted = !st.muted;
    // Locally at once (the encoder sends silence / black), and the node stops forwarding.
    if (localStream) localStream.getTracks().filter((t) => t.kind === kind).forEach((t) => (t.enabled = !st.muted));
    sendMute(kind);
    setControls();
  }
  buttons.mic.onclick = () => toggleMute("audio");
  buttons.cam.onclick = () => toggleMute("video");

  buttons.next.onclick = async () => {
    buttons.next.disabled = true;
    try {
      const result = await request("next", {});
      if ("partner" in result) onPair(result.partner);
    } catch (e) {
      fail("next", e);
    }
    setControls();
  };

  buttons.leave.onclick = async () => {
    buttons.leave.disabled = true;
    try {
      await request("leave", {});
    } catch (e) {
      fail("leave", e);
    }
    page.left = true;
    page.joined = false;
    pc.close();
    page.transportState = pc.connectionState;
    if (localStream) localStream.getTracks().forEach((t) => t.stop());
    for (const t of tiles.values()) t.el.remove();
    tiles.clear();
    consumers.clear();
    $("local").hidden = true;
    if (ws) ws.close(1000);
    setStatus("left", "You left the room");
    setControls();
  };

  function setControls() {
    const live = page.joined && !page.left;
    buttons.mic.disabled = !live || !senders.audio;
    buttons.cam.disabled = !live || !senders.video;
    buttons.mic.textContent = page.mic.muted ? "Unmute mic" : "Mute mic";
    buttons.cam.textContent = page.cam.muted ? "Unmute camera" : "Mute camera";
    buttons.mic.setAttribute("aria-pressed", String(page.mic.muted));
    buttons.cam.setAttribute("aria-pressed", String(page.cam.muted));
    buttons.next.disabled = !live;
    buttons.leave.disabled = !live;
  }

  function showJoined() {
    if (!page.joined || page.left) return;
    const t = page.transportState;
    if (t === "failed") setStatus("failed", "Media connection failed");
    else setStatus("joined", t === "connected" ? "Connected" : "Joined · media " + t);
  }

  function onNodeTransport(state) {
    page.nodeTransportState = state;
    if (state === "failed" && !page.left)
      fail("transport", protocolError("transport_failed", "the node reports the media connection failed"));
  }

  if (!token) {
    setStatus("failed", "No token");
    fail("token", protocolError("missing_token", "open this page as /web/room.html#token=<participant token>"));
  } else {
    connect();
  }
})();
