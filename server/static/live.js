// The live page: angles as they arrive, a moving plot, the rep counter, the last rep judged with its cue, the set
// so far, optional spoken cues, and "end set", which stores the session and opens its report.
// Messages (server -> viewer) are listed in docs/live-protocol.md. User text goes in through textContent only.
"use strict";

(() => {
  const WINDOW_S = 15;
  const RECONNECT_MS = 1000;
  const root = document.getElementById("live");
  const sessionId = root.dataset.sessionId;
  const element = (id) => document.getElementById(id);
  const fmt = (value, decimals, unit) => (value === null || value === undefined ? "—" : `${value.toFixed(decimals)}${unit}`);
  const plotData = [[], [], []];  // time_s, trunk, pelvis
  let reps = [], ended = false, drawPending = false;

  const plotElement = element("live-plot");
  const plot = new uPlot({
    width: plotElement.clientWidth, height: 220,
    scales: {x: {time: false}},
    legend: {live: false},  // names only: the big numbers above are the live values
    axes: [{label: "time (s)"}, {label: "angle (°)"}],
    series: [{label: "time (s)"},
      {label: "trunk (°)", stroke: "#1f6feb", width: 2, value: (u, v) => fmt(v, 0, "")},
      {label: "pelvis (°)", stroke: "#2da44e", width: 2, value: (u, v) => fmt(v, 0, "")}],
  }, plotData, plotElement);
  window.hinge.track(plot, plotElement, 220);

  function redraw() {
    drawPending = false;
    plot.setData(plotData);
  }

  function showState(state) {
    if (!state) return;
    element("trunk-angle").textContent = fmt(state.trunk_angle_deg, 0, "°");
    element("pelvis-angle").textContent = fmt(state.pelvis_angle_deg, 0, "°");
    element("status-text").textContent = state.status || (state.calibrated ? "live" : "calibrating");
    root.dataset.calibrated = String(Boolean(state.calibrated));
    root.dataset.timeS = String(state.time_s);
    if (state.time_s === null || state.time_s === undefined) return;
    plotData[0].push(state.time_s);
    plotData[1].push(state.trunk_angle_deg);
    plotData[2].push(state.pelvis_angle_deg);
    while (plotData[0].length && plotData[0][0] < state.time_s - WINDOW_S) for (const column of plotData) column.shift();
    if (!drawPending) { drawPending = true; window.requestAnimationFrame(redraw); }
  }

  function showSession(session) {
    const sensors = Object.entries(session.sensors).map(([name, s]) => `${name} ${s.rate_hz.toFixed(0)} Hz`);
    element("sources").textContent = sensors.length ? sensors.join(" · ") : "no sensors yet";
  }

  function flagChip(flag) {
    const chip = document.createElement("span");
    chip.className = "chip fault";
    chip.textContent = flag.replaceAll("_", " ");
    return chip;
  }

  function addRep(rep, speak) {
    reps.push(rep);
    const row = document.createElement("tr");
    row.dataset.rep = String(rep.index);
    if (rep.flags.length) row.className = "flagged";
    const cells = [String(rep.index), fmt(rep.trunk_angle_deg, 0, "°"), fmt(rep.pelvis_angle_deg, 0, "°"),
      fmt(rep.back_rounding_deg, 1, "°"), fmt(rep.lockout_lean_back_deg, 1, "°"), fmt(rep.descent_s, 2, " s"),
      fmt(rep.ascent_s, 2, " s")];
    for (const text of cells) {
      const cell = row.insertCell();
      cell.className = "num";
      cell.textContent = text;
    }
    const flags = row.insertCell();
    for (const flag of rep.flags) flags.append(flagChip(flag));
    element("live-reps").tBodies[0].prepend(row);

    element("last-rep").hidden = false;
    element("last-rep-index").textContent = String(rep.index);
    element("last-depth").textContent = fmt(rep.trunk_angle_deg ?? rep.pelvis_angle_deg, 0, "°");
    element("last-rounding").textContent = fmt(rep.back_rounding_deg, 1, "°");
    element("last-lean-back").textContent = fmt(rep.lockout_lean_back_deg, 1, "°");
    element("last-tempo").textContent = `${fmt(rep.descent_s, 1, " s")} / ${fmt(rep.ascent_s, 1, " s")}`;
    element("last-flags").replaceChildren(...rep.flags.map(flagChip));
    const cue = rep.flags.length ? rep.cues[rep.flags[0]] : "Good rep.";
    element("last-cue").textContent = cue;
    if (speak && rep.flags.length && element("speak-cues").checked && window.speechSynthesis) {
      window.speechSynthesis.speak(new SpeechSynthesisUtterance(cue));
    }
    showSummary();
  }

  function mean(key) {
    const values = reps.filter((r) => !r.partial && r[key] !== null && r[key] !== undefined).map((r) => r[key]);
    return values.length ? values.reduce((a, b) => a + b, 0) / values.length : null;
  }

  function showSummary() {
    const counted = reps.filter((r) => !r.partial);
    element("rep-count").textContent = String(counted.length);
    element("summary-reps").textContent = String(counted.length);
    element("summary-depth").textContent = fmt(mean("trunk_angle_deg") ?? mean("pelvis_angle_deg"), 0, "°");
    element("summary-rounding").textContent = fmt(mean("back_rounding_deg"), 1, "°");
    const counts = {};
    for (const rep of counted) for (const flag of rep.flags) counts[flag] = (counts[flag] || 0) + 1;
    const parts = Object.entries(counts).map(([flag, n]) => `${flag.replaceAll("_", " ")} ×${n}`);
    element("summary-flags").textContent = parts.length ? parts.join(", ") : "none";
    root.dataset.repCount = String(counted.length);
  }

  function onMessage(message) {
    if (message.type === "snapshot") {
      reps = [];
      element("live-reps").tBodies[0].replaceChildren();
      for (const rep of message.reps) addRep(rep, false);
      showSummary();
      showSession(message.session);
      showState(message.state);
    } else if (message.type === "state") {
      showState(message.state);
    } else if (message.type === "rep") {
      addRep(message.rep, true);
    } else if (message.type === "session") {
      showSession(message.session);
    } else if (message.type === "ended") {
      ended = true;
      window.location.assign(message.url);
    } else if (message.type === "discarded" || message.type === "expired") {
      ended = true;
      element("connection").dataset.state = "ended";
      element("status-text").textContent = message.type === "discarded" ? "this set was discarded"
        : "this set expired without a source; store or discard it under Live";
    }
  }

  function connect() {
    const scheme = window.location.protocol === "https:" ? "wss" : "ws";
    const socket = new WebSocket(`${scheme}://${window.location.host}/api/live/${encodeURIComponent(sessionId)}/view`);
    socket.addEventListener("open", () => { element("connection").dataset.state = "connected"; });
    socket.addEventListener("message", (event) => onMessage(JSON.parse(event.data)));
    socket.addEventListener("close", (event) => {
      if (event.code === 1008) {  // refused (e.g. an interrupted set): retrying cannot help
        element("connection").dataset.state = "ended";
        element("status-text").textContent = event.reason;
        return;
      }
      element("connection").dataset.state = "reconnecting";
      if (!ended) window.setTimeout(connect, RECONNECT_MS);
    });
  }

  const endButton = element("end-set");
  if (endButton) {
    endButton.addEventListener("click", async () => {
      endButton.disabled = true;
      element("end-status").textContent = "Analysing the set …";
      const response = await fetch(`/api/live/${encodeURIComponent(sessionId)}/end`, {method: "POST"});
      if (response.status === 200 || response.status === 201) {
        ended = true;
        window.location.assign(`/sessions/${(await response.json()).id}`);
        return;
      }
      endButton.disabled = false;
      element("end-status").className = "error-message";
      element("end-status").textContent = await window.hinge.errorMessage(response);
    });
  }
  connect();
})();
