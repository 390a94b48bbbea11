// History page: the chosen metric across sessions over time (x: session date).
"use strict";

(() => {
  const data = JSON.parse(document.getElementById("history-data").textContent);
  const element = document.getElementById("history-plot");
  const times = data.dates.map((iso) => Date.parse(iso) / 1000);
  if (!times.length) return;
  const height = 260;
  const plot = new uPlot({
    width: element.clientWidth, height,
    scales: {x: {time: true}, y: {range: (u, min, max) => [Math.min(0, min), max > 0 ? max * 1.15 : 1]}},
    axes: [{}, {label: `${data.label} (${data.unit})`}],
    series: [
      {label: "date"},
      {label: data.label, stroke: "#1f6feb", width: 2, spanGaps: true, points: {show: true, size: 7, fill: "#1f6feb"}},
    ],
  }, [times, data.points], element);
  window.hinge.track(plot, element, height);
})();
