// Live updates: the server sends a small "change" event whenever an interaction changes
// (server-sent events); we fetch the page's live fragment again and swap it in, then tell
// screen-reader users politely. Forms are outside the swapped part, so nothing typed is lost.
(function () {
  "use strict";
  var url = document.body.getAttribute("data-live");
  var region = document.getElementById("queue-live") || document.getElementById("interaction-live");
  if (!url || !region || !window.EventSource) { return; }
  var status = document.getElementById("live-status");
  var pending = null;

  function fragmentUrl() {
    var base = region.getAttribute("data-fragment") || location.pathname + location.search;
    return base + (base.indexOf("?") >= 0 ? "&" : "?") + "fragment=live";
  }

  function refresh() {
    pending = null;
    fetch(fragmentUrl(), { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
      .then(function (html) {
        var active = document.activeElement && region.contains(document.activeElement);
        region.innerHTML = html;
        region.setAttribute("data-updated", String(Date.now()));
        if (status) { status.textContent = "Updated just now."; }
        if (active) { region.setAttribute("tabindex", "-1"); region.focus(); }
      })
      .catch(function () { /* the next event will try again */ });
  }

  function changed(event) {
    var wanted = region.getAttribute("data-interaction");
    if (wanted) {
      try {
        var data = JSON.parse(event.data);
        if (data.interaction !== null && String(data.interaction) !== wanted) { return; }
      } catch (e) { /* refresh anyway */ }
    }
    if (pending === null) { pending = setTimeout(refresh, 200); }
  }

  var source = new EventSource(url);
  source.addEventListener("change", changed);
  source.addEventListener("hello", function () { document.body.setAttribute("data-live-ready", "1"); });
}());
