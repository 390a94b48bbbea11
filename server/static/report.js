// Session report plots: angles over time with reps shaded, numbered and flags marked; the hinge signature
// (trunk vs pelvis, one curve per rep); per-rep trends of depth, rounding and tempo.
"use strict";

(async () => {
  const data = JSON.parse(document.getElementById("report-data").textContent);
  const reps = data.reps;
  const response = await fetch(data.series_url);
  if (!response.ok) return;
  const series = await response.json();
  const time = series.time_s;
  const colours = {trunk: "#1f6feb", pelvis: "#2da44e", flexion: "#bf8700", fault: "#cf222e", shade: "rgba(31,111,235,0.08)"};
  const hasValues = (values) => values && values.some((v) => v !== null);

  // ------------------------------------------------------------------------------- angles over time
  function drawReps(u) {
    const {ctx, bbox} = u;
    const ratio = window.devicePixelRatio || 1;
    ctx.save();
    ctx.font = `${11 * ratio}px system-ui, sans-serif`;
    ctx.textAlign = "center";
    ctx.textBaseline = "top";
    for (const rep of reps) {
      const x0 = u.valToPos(rep.start_s, "x", true);
      const x1 = u.valToPos(rep.end_s, "x", true);
      const xb = u.valToPos(rep.bottom_s, "x", true);
      if (x1 < bbox.left || x0 > bbox.left + bbox.width) continue;
      const flagged = rep.flags.length > 0;
      ctx.fillStyle = flagged ? "rgba(207,34,46,0.10)" : colours.shade;
      ctx.fillRect(x0, bbox.top, x1 - x0, bbox.height);
      ctx.fillStyle = flagged ? colours.fault : "#57606a";
      ctx.fillText(String(rep.index), (x0 + x1) / 2, bbox.top + 2 * ratio);
      if (flagged) {  // a red triangle at the bottom of the rep
        const y = bbox.top + 16 * ratio, s = 5 * ratio;
        ctx.beginPath();
        ctx.moveTo(xb - s, y); ctx.lineTo(xb + s, y); ctx.lineTo(xb, y + 1.6 * s); ctx.closePath();
        ctx.fill();
      }
    }
    ctx.restore();
  }

  const timeElement = document.getElementById("time-plot");
  const timeSeries = [{label: "time (s)"}];
  const timeData = [time];
  for (const [key, label, stroke, dash] of [
    ["trunk_angle_deg", "trunk (°)", colours.trunk, undefined],
    ["pelvis_angle_deg", "pelvis (°)", colours.pelvis, undefined],
    ["spinal_flexion_deg", "spinal flexion (°)", colours.flexion, [6, 4]],
  ]) {
    if (!hasValues(series[key])) continue;
    timeSeries.push({label, stroke, dash, width: 1.5, value: (u, v) => (v === null ? "—" : v.toFixed(1))});
    timeData.push(series[key]);
  }
  const timeHeight = 320;
  const timePlot = new uPlot({
    width: timeElement.clientWidth, height: timeHeight,
    scales: {x: {time: false}},
    axes: [{label: "time (s)"}, {label: "angle (°)"}],
    series: timeSeries,
    hooks: {drawClear: [drawReps]},
  }, timeData, timeElement);
  window.hinge.track(timePlot, timeElement, timeHeight);

  // ------------------------------------------------------------------------------- hinge signature
  function firstAtOrAfter(t) {  // binary search in the sorted time axis
    let low = 0, high = time.length;
    while (low < high) {
      const middle = (low + high) >> 1;
      if (time[middle] < t) low = middle + 1; else high = middle;
    }
    return low;
  }
  const sliceOf = (values, rep) => values.slice(firstAtOrAfter(rep.start_s), firstAtOrAfter(rep.end_s));
  const signatureElement = document.getElementById("signature-plot");
  if (hasValues(series.trunk_angle_deg) && hasValues(series.pelvis_angle_deg) && reps.length) {
    const curves = reps.map((rep) => [sliceOf(series.pelvis_angle_deg, rep), sliceOf(series.trunk_angle_deg, rep)]);
    let low = 0, high = 10;  // both axes share one range (a loop: an hour holds too many values to spread)
    for (const values of curves.flat()) {
      for (const v of values) {
        if (v !== null) { low = Math.min(low, v); high = Math.max(high, v); }
      }
    }
    low = Math.floor(low / 10) * 10;
    high = Math.ceil(high / 10) * 10;
    const diagonal = (u) => {  // trunk = pelvis: no spinal flexion
      const {ctx} = u;
      ctx.save();
      ctx.strokeStyle = "#8c959f";
      ctx.setLineDash([4, 4]);
      ctx.beginPath();
      ctx.moveTo(u.valToPos(low, "x", true), u.valToPos(low, "y", true));
      ctx.lineTo(u.valToPos(high, "x", true), u.valToPos(high, "y", true));
      ctx.stroke();
      ctx.restore();
    };
    const size = () => Math.min(signatureElement.clientWidth, 420);
    const signaturePlot = new uPlot({
      mode: 2, width: size(), height: size(),
      legend: {show: false}, cursor: {show: false},
      scales: {x: {time: false, range: [low, high]}, y: {range: [low, high]}},
      axes: [{label: "pelvis angle (°)"}, {label: "trunk angle (°)"}],
      series: [{}, ...reps.map((rep) => ({
        label: `rep ${rep.index}`,
        stroke: rep.flags.includes("back_rounding") ? colours.fault : colours.trunk,
        width: 1.5, paths: uPlot.paths.linear(), points: {show: false},
        facets: [{scale: "x", auto: false}, {scale: "y", auto: false}],
      }))],
      hooks: {drawClear: [diagonal]},
    }, [null, ...curves], signatureElement);
  } else {
    signatureElement.textContent = "The hinge signature needs both sensors (upper back and hip).";
    signatureElement.classList.add("unavailable");
  }

  // ------------------------------------------------------------------------------- trends across the set
  const repIndex = reps.map((rep) => rep.index);
  const depth = reps.map((rep) => rep.trunk_angle_deg ?? rep.pelvis_angle_deg);
  const trends = [
    ["trend-depth", "depth (°)", [["depth", depth, colours.trunk]]],
    ["trend-rounding", "rounding (°)", [["rounding", reps.map((rep) => rep.back_rounding_deg), colours.fault]],
     data.thresholds.back_rounding_deg],
    ["trend-tempo", "tempo (s)", [
      ["down", reps.map((rep) => rep.descent_s), colours.pelvis],
      ["up", reps.map((rep) => rep.ascent_s), colours.flexion],
      ["rep", reps.map((rep) => rep.end_s - rep.start_s), colours.trunk],
    ]],
  ];
  const trendHeight = 150;
  for (const [id, axisLabel, lines, threshold] of trends) {
    const element = document.getElementById(id);
    if (!reps.length || !lines.some(([, values]) => hasValues(values))) {
      element.textContent = `${axisLabel}: not available for this recording.`;
      element.classList.add("unavailable");
      continue;
    }
    const thresholdLine = (u) => {
      if (threshold === undefined) return;
      const y = u.valToPos(threshold, "y", true);
      u.ctx.save();
      u.ctx.strokeStyle = colours.fault;
      u.ctx.setLineDash([3, 3]);
      u.ctx.beginPath(); u.ctx.moveTo(u.bbox.left, y); u.ctx.lineTo(u.bbox.left + u.bbox.width, y); u.ctx.stroke();
      u.ctx.restore();
    };
    const plot = new uPlot({
      width: element.clientWidth, height: trendHeight,
      scales: {x: {time: false}, y: threshold === undefined ? {} : {range: (u, min, max) => [0, Math.max(max, threshold) * 1.1]}},
      legend: {show: lines.length > 1, live: false},
      axes: [{label: "rep", incrs: [1, 2, 5, 10, 20, 50]}, {label: axisLabel, size: 50}],
      series: [{label: "rep"}, ...lines.map(([label, , stroke]) => ({label, stroke, width: 2, points: {show: true, size: 6, fill: stroke}}))],
      hooks: {draw: [thresholdLine]},
    }, [repIndex, ...lines.map(([, values]) => values)], element);
    window.hinge.track(plot, element, trendHeight);
  }
  document.body.dataset.plotsReady = "true";
})();
