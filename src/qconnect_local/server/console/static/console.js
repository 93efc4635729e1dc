// The console's only script: confirmations before control-plane actions, and live previews.
// Pages work without it; no inline script is allowed by the Content-Security-Policy.
"use strict";
document.addEventListener("submit", (event) => {
  const form = event.target;
  const question = form.getAttribute("data-confirm");
  if (question && !window.confirm(question)) event.preventDefault();
});
// A form marked data-live re-submits itself (debounced) as its fields change, and puts the
// answer's element of the same id in place of its own: a live preview without a reload.
document.addEventListener("input", (event) => {
  const form = event.target.closest("form[data-live]");
  if (!form) return;
  clearTimeout(form._liveTimer);
  form._liveTimer = setTimeout(async () => {
    const target = document.getElementById(form.getAttribute("data-live"));
    const body = new URLSearchParams(new FormData(form));
    const response = await fetch(form.action + "?" + body.toString(), { headers: { "Accept": "text/html" } });
    const doc = new DOMParser().parseFromString(await response.text(), "text/html");
    const fresh = doc.getElementById(target.id);
    if (fresh) target.replaceWith(fresh);
  }, 250);
});
