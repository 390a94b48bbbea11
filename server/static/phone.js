// The phone as a sensor: DeviceMotion samples streamed to a live set over hinge-live/1 (docs/live-protocol.md).
// Units and axes become canonical here: accelerationIncludingGravity is already specific force in m/s² in the
// device axes (+9.81 on the up axis at rest, W3C Device Orientation and Motion); rotationRate alpha, beta, gamma
// are deg/s about the device's x, y, z axes (as Chrome and Safari deliver them) and become rad/s.
// Batches carry sequence numbers and stay buffered until the server acknowledges them, so a dropped connection
// resends them after reconnecting and the server drops any it already has. Stop closes the connection only once
// every batch is acknowledged (or after STOP_WAIT_MS), so the last batch is not cut off.
"use strict";

(() => {
  const BATCH_INTERVAL_MS = 100;
  const RECONNECT_MS = 1000;
  const MAX_UNACKED_BATCHES = 1200;  // two minutes of samples while the network is away
  const CLOCK_PINGS = 5;
  const STOP_WAIT_MS = 10000;
  const DEG_TO_RAD = Math.PI / 180;

  const element = (id) => document.getElementById(id);
  const page = document.getElementById("phone");
  // from firmware_bridge/live_protocol.py
  const {protocol: PROTOCOL, ingestPath: INGEST_PATH, timeBase: TIME_BASE} = page.dataset;
  const sourceId = `phone-${Math.random().toString(36).slice(2, 10)}`;
  const token = new URLSearchParams(window.location.search).get("token");
  let sensor = null, sessionId = null, socket = null, stopped = true, ended = false;
  let clockOffsetS = null, candidateOffsetS = 0, bestRoundTripS = Infinity, pongs = 0;
  let pending = [], nextSeq = 0, sentSamples = 0, eventsThisSecond = 0;
  const unacked = new Map();  // seq -> message text

  function show(state, text) {
    element("connection").dataset.state = state;
    element("connection-text").textContent = text;
  }

  function fail(message) {
    element("phone-error").textContent = message;
  }

  function onMotion(event) {
    const acc = event.accelerationIncludingGravity, rate = event.rotationRate;
    if (!acc || acc.x === null || !rate || rate.alpha === null) return;
    eventsThisSecond++;
    const time_s = (performance.timeOrigin + event.timeStamp) / 1000;
    pending.push([time_s, acc.x, acc.y, acc.z, rate.alpha * DEG_TO_RAD, rate.beta * DEG_TO_RAD, rate.gamma * DEG_TO_RAD]);
  }

  function batch() {
    // samples wait until the phone's clock is mapped onto the server's (the time base both sensors share)
    if (clockOffsetS === null || pending.length === 0) return;
    const samples = pending;
    pending = [];
    const seq = nextSeq++;
    const text = JSON.stringify({
      type: "samples", seq, sensor,
      time_s: samples.map((s) => s[0] + clockOffsetS),
      acc_mps2: samples.map((s) => [s[1], s[2], s[3]]),
      gyr_radps: samples.map((s) => [s[4], s[5], s[6]]),
    });
    unacked.set(seq, text);
    while (unacked.size > MAX_UNACKED_BATCHES) unacked.delete(unacked.keys().next().value);
    sentSamples += samples.length;
    if (socket && socket.readyState === WebSocket.OPEN) socket.send(text);
    element("sent").textContent = String(sentSamples);
    element("buffered").textContent = String(unacked.size);
  }

  function connect() {
    const scheme = window.location.protocol === "https:" ? "wss" : "ws";
    const query = token ? `?token=${encodeURIComponent(token)}` : "";
    socket = new WebSocket(`${scheme}://${window.location.host}${INGEST_PATH}${query}`);
    socket.addEventListener("open", () => {
      show("connected", "connected");
      socket.send(JSON.stringify({
        type: "hello", protocol: PROTOCOL, session_id: sessionId, source_id: sourceId, time_base: TIME_BASE,
        metadata: {source: "hinge /phone page", [`${sensor}_device`]: `phone: ${navigator.userAgent.slice(0, 120)}`},
      }));
      if (clockOffsetS === null) {
        for (let i = 0; i < CLOCK_PINGS; i++) socket.send(JSON.stringify({type: "ping", client_time_s: Date.now() / 1000}));
      }
      for (const text of unacked.values()) socket.send(text);  // resend what the server has not confirmed
    });
    socket.addEventListener("message", (event) => {
      const message = JSON.parse(event.data);
      if (message.type === "ack") {
        unacked.delete(message.seq);
        element("buffered").textContent = String(unacked.size);
        if (stopped && unacked.size === 0) socket.close(1000, "stopped");
      } else if (message.type === "pong" && clockOffsetS === null) {
        const now_s = Date.now() / 1000;
        const roundTripS = now_s - message.client_time_s;
        if (roundTripS < bestRoundTripS) {
          bestRoundTripS = roundTripS;
          candidateOffsetS = message.server_time_s - (message.client_time_s + roundTripS / 2);
        }
        // performance.timeOrigin + timeStamp is on the same clock as Date.now()
        if (++pongs === CLOCK_PINGS) clockOffsetS = candidateOffsetS;
      }
    });
    socket.addEventListener("close", (event) => {
      if (event.reason === "set ended") {
        ended = true;
        stop();
        show("ended", "the set has ended");
        return;
      }
      if (event.code === 1008) {  // refused (token, session, protocol): retrying cannot help
        fail(event.reason || "the server refused the connection");
        stop();
        return;
      }
      if (stopped) return;
      show("reconnecting", "connection lost, reconnecting …");
      window.setTimeout(() => { if (!stopped) connect(); }, RECONNECT_MS);
    });
  }
  async function start() {
    fail("");
    if (!window.isSecureContext) {
      fail("Motion sensors need a secure page: start the server with hinge serve --https and open its https:// address.");
      return;
    }
    if (typeof DeviceMotionEvent !== "undefined" && typeof DeviceMotionEvent.requestPermission === "function") {
      const answer = await DeviceMotionEvent.requestPermission();  // iOS asks from this tap
      if (answer !== "granted") { fail("Motion access was denied; allow it in the browser's settings."); return; }
    }
    sensor = document.querySelector("input[name=placement]:checked").value;
    sessionId = element("session").value;
    element("live-link").href = `/live/${encodeURIComponent(sessionId)}`;
    for (const input of document.querySelectorAll("#placement input, #session")) input.disabled = true;
    stopped = false;
    element("start").textContent = "Stop";
    window.addEventListener("devicemotion", onMotion);
    if (navigator.wakeLock) navigator.wakeLock.request("screen").catch(() => {});
    show("connecting", "connecting …");
    connect();
  }

  function stop() {
    stopped = true;
    window.removeEventListener("devicemotion", onMotion);
    batch();
    if (socket && socket.readyState === WebSocket.OPEN && !ended) {
      socket.send(JSON.stringify({type: "end"}));
      const last = socket;
      if (unacked.size === 0) last.close(1000, "stopped");
      else window.setTimeout(() => last.close(1000, "stopped"), STOP_WAIT_MS);
    }
    element("start").textContent = "Start";
    element("start").disabled = ended;
    show(ended ? "ended" : "idle", "stopped");
  }

  window.setInterval(batch, BATCH_INTERVAL_MS);
  window.setInterval(() => {
    element("rate").textContent = String(eventsThisSecond);
    eventsThisSecond = 0;
  }, 1000);
  element("start").addEventListener("click", () => (stopped ? start() : stop()));
})();
