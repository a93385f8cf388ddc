// The dashboard's only script: live updates and inline answers.
//
// 1. /events (Server-Sent Events) sends the page's live fragments, rendered by
//    the server, four times a second. Each top-level element in an event has
//    an id; it replaces the element with the same id on the page.
// 2. The control forms are sent with fetch, so the answer shows next to the
//    form instead of reloading the page. Without this script the same forms
//    post normally and the server redirects back with the answer.
"use strict";

const connection = document.getElementById("connection");

function showConnection(state, text) {
  connection.dataset.state = state;
  connection.textContent = text;
}

// Replaces each element of `html` on the page, matched by id.
function swap(html) {
  const template = document.createElement("template");
  template.innerHTML = html;
  for (const fresh of Array.from(template.content.children)) {
    const current = fresh.id && document.getElementById(fresh.id);
    if (current) current.replaceWith(fresh);
  }
}

const events = new EventSource("/events");
events.addEventListener("open", () => showConnection("live", "live"));
events.addEventListener("update", (event) => swap(event.data));
// The server's last words before it stops: no point reconnecting.
events.addEventListener("stopped", (event) => {
  swap(event.data);
  events.close();
  showConnection("stopped", "server stopped");
});
events.addEventListener("error", () => {
  if (events.readyState !== EventSource.CLOSED) {
    showConnection("lost", "connection lost, retrying");
  }
});

for (const form of document.querySelectorAll("form[data-control]")) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (form.dataset.confirm && !window.confirm(form.dataset.confirm)) return;
    const answer = form.closest(".card").querySelector(".answer");
    // The button pressed is part of the form data (the leak form has two).
    const body = new URLSearchParams(new FormData(form, event.submitter));
    answer.className = "answer pending";
    answer.textContent = "…";
    try {
      const response = await fetch(form.action, {
        method: "POST",
        body,
        headers: { Accept: "application/json" },
      });
      const reply = await response.json().catch(() => ({}));
      answer.className = response.ok ? "answer ok" : "answer error";
      answer.textContent = reply.message || `${response.status} ${response.statusText}`;
    } catch (error) {
      answer.className = "answer error";
      answer.textContent = `No answer from the server (${error.message}).`;
    }
  });
}
