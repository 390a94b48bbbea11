// hinge pages: upload by drag-and-drop or file picker, the edit / re-analyse forms, delete, and plot sizing.
// Everything user-provided goes into the page through textContent, never innerHTML.
"use strict";

window.hinge = (() => {
  const plots = [];

  // keep a uPlot chart as wide as its container (and a fixed width while printing)
  function track(plot, element, height) {
    plots.push({plot, element, height});
  }
  function resizeAll(width) {
    for (const {plot, element, height} of plots) {
      plot.setSize({width: width || element.clientWidth, height: height});
    }
  }
  window.addEventListener("resize", () => resizeAll());
  window.addEventListener("beforeprint", () => resizeAll(680));
  window.addEventListener("afterprint", () => resizeAll());
  // links that print the page (no inline handlers: the Content-Security-Policy allows none)
  document.addEventListener("click", (event) => {
    if (event.target.closest && event.target.closest("[data-print]")) { event.preventDefault(); window.print(); }
  });
  document.addEventListener("change", (event) => {
    if (event.target.matches && event.target.matches("[data-submit-on-change]")) event.target.form.submit();
  });

  async function errorMessage(response) {
    try {
      const body = await response.json();
      return typeof body.detail === "string" ? body.detail : JSON.stringify(body.detail);
    } catch (_) {
      return `${response.status} ${response.statusText}`;
    }
  }

  async function upload(file, status) {
    status.className = "";
    status.textContent = `Analysing ${file.name} …`;
    const form = new FormData();
    form.append("file", file);
    form.append("placement", document.getElementById("upload-placement").value);
    const platform = document.getElementById("upload-platform").value;
    if (platform) form.append("platform", platform);
    const response = await fetch("/api/sessions", {method: "POST", body: form});
    if (response.status === 201) {
      const session = await response.json();
      window.location.assign(`/sessions/${session.id}`);
      return;
    }
    const message = await errorMessage(response);
    status.className = "error-message";
    status.textContent = message.startsWith(file.name) ? message : `${file.name}: ${message}`;
  }

  function setUpUpload() {
    const zone = document.getElementById("upload");
    if (!zone) return;
    const input = document.getElementById("upload-input");
    const status = document.getElementById("upload-status");
    input.addEventListener("change", () => input.files.length && upload(input.files[0], status));
    for (const name of ["dragenter", "dragover"]) {
      zone.addEventListener(name, (event) => { event.preventDefault(); zone.classList.add("over"); });
    }
    for (const name of ["dragleave", "drop"]) {
      zone.addEventListener(name, () => zone.classList.remove("over"));
    }
    zone.addEventListener("drop", (event) => {
      event.preventDefault();
      if (event.dataTransfer.files.length) upload(event.dataTransfer.files[0], status);
    });
  }

  // form fields -> JSON body: numbers as numbers, an empty number as null, datetime-local as UTC ISO
  function formBody(form) {
    const body = {};
    for (const field of form.elements) {
      if (!field.name) continue;
      if (field.type === "number") body[field.name] = field.value === "" ? null : Number(field.value);
      else if (field.type === "datetime-local") { if (field.value) body[field.name] = `${field.value}:00Z`; }
      else body[field.name] = field.value;
    }
    return body;
  }

  function setUpForms() {
    for (const form of document.querySelectorAll("form[data-url]")) {
      form.addEventListener("submit", async (event) => {
        event.preventDefault();
        const status = form.querySelector(".form-status");
        status.className = "form-status";
        status.textContent = "Saving …";
        const response = await fetch(form.dataset.url, {
          method: form.dataset.method,
          headers: {"Content-Type": "application/json"},
          body: JSON.stringify(formBody(form)),
        });
        if (response.ok) { window.location.reload(); return; }
        status.className = "form-status error-message";
        status.textContent = await errorMessage(response);
      });
    }
    const remove = document.getElementById("delete-session");
    if (remove) {
      remove.addEventListener("click", async () => {
        if (!window.confirm("Delete this session and its recording?")) return;
        const response = await fetch(remove.dataset.url, {method: "DELETE"});
        if (response.ok) window.location.assign("/");
        else window.alert(await errorMessage(response));
      });
    }
  }

  // buttons that create a session (e.g. storing an interrupted live set) and open its report
  function setUpPostButtons() {
    for (const button of document.querySelectorAll("button[data-post-url]")) {
      button.addEventListener("click", async () => {
        button.disabled = true;
        const response = await fetch(button.dataset.postUrl, {method: "POST"});
        if (response.status === 200 || response.status === 201) {
          window.location.assign(`/sessions/${(await response.json()).id}`);
          return;
        }
        button.disabled = false;
        window.alert(await errorMessage(response));
      });
    }
  }

  // buttons that discard something after a confirmation (data-delete-url, data-confirm, data-then)
  function setUpDeleteButtons() {
    for (const button of document.querySelectorAll("button[data-delete-url]")) {
      button.addEventListener("click", async () => {
        if (!window.confirm(button.dataset.confirm)) return;
        button.disabled = true;
        const response = await fetch(button.dataset.deleteUrl, {method: "DELETE"});
        if (response.status === 204) { window.location.assign(button.dataset.then); return; }
        button.disabled = false;
        window.alert(await errorMessage(response));
      });
    }
  }

  setUpUpload();
  setUpForms();
  setUpPostButtons();
  setUpDeleteButtons();
  return {track, errorMessage};
})();
