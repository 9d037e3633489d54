// terrafake console: live job progress (Server-Sent Events) and drag-and-drop uploads. No framework.
"use strict";

function watchJob(box) {
  if (box.dataset.terminal === "true") return;
  const state = document.getElementById("job-state");
  const bar = document.getElementById("job-progress");
  const percent = document.getElementById("job-percent");
  const message = document.getElementById("job-message");
  const error = document.getElementById("job-error");
  const source = new EventSource("/jobs/" + box.dataset.jobId + "/events");
  source.addEventListener("job", (e) => {
    const d = JSON.parse(e.data);
    state.textContent = d.state;
    state.className = "state " + d.state;
    if (d.fraction || d.state === "succeeded") {
      const f = d.state === "succeeded" ? 1 : d.fraction;
      bar.value = f;
      percent.textContent = Math.round(100 * f) + "%";
    }
    if (d.message) message.textContent = d.message;
    if (d.error) { error.textContent = d.error; error.hidden = false; }
  });
  // The stream ends with the job; EventSource would reconnect and replay, so close it.
  source.addEventListener("end", () => {
    source.close();
    box.dataset.terminal = "true";
    const cancel = document.getElementById("job-cancel");
    if (cancel) cancel.hidden = true;  // nothing left to cancel
  });
  source.addEventListener("failure", (e) => {
    const d = JSON.parse(e.data);
    error.textContent = d.code + ": " + d.message;
    error.hidden = false;
    source.close();
  });
}

function dropZone(form) {
  const input = form.querySelector("input[type=file]");
  ["dragenter", "dragover"].forEach((t) => form.addEventListener(t, (e) => {
    e.preventDefault(); form.classList.add("over");
  }));
  ["dragleave", "drop"].forEach((t) => form.addEventListener(t, () => form.classList.remove("over")));
  form.addEventListener("drop", (e) => {
    e.preventDefault();
    input.files = e.dataTransfer.files;
  });
}

function fillGeneration(status) {
  const grid = document.getElementById("generated");
  const total = Number(status.dataset.count);
  let done = 0;
  const source = new EventSource("/generate/" + status.dataset.generation + "/events");
  source.addEventListener("image", (e) => {
    const d = JSON.parse(e.data);
    const link = document.createElement("a");
    link.href = d.uri;
    link.download = "generated-" + d.index + "-seed" + d.seed + ".png";
    link.title = d.width + "×" + d.height + ", seed " + d.seed;
    const img = document.createElement("img");
    img.src = d.uri;
    img.alt = "generated image " + (d.index + 1);
    link.appendChild(img);
    grid.appendChild(link);
    done += 1;
    status.textContent = done + " of " + total + " images (click one to download it)";
  });
  source.addEventListener("end", () => { source.close(); status.dataset.done = "true"; });
  source.addEventListener("failure", (e) => {
    const d = JSON.parse(e.data);
    status.textContent = d.code + ": " + d.message;
    status.className = "error";
    source.close();
  });
  source.onerror = () => source.close();  // the stream is single-use; never replay it
}

document.addEventListener("DOMContentLoaded", () => {
  const generation = document.getElementById("generate-status");
  if (generation) fillGeneration(generation);
  const job = document.getElementById("job");
  if (job) watchJob(job);
  const drop = document.getElementById("detect-form");
  if (drop) dropZone(drop);
});
