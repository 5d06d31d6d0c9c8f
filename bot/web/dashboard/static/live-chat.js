// Live chat (docs/live-chat.md): presence, the live queue and one live conversation.
// No inline script anywhere (the staff CSP allows only our own files); everything typed by a
// resident is put in the page as text, never as HTML.
(function () {
  "use strict";
  var logout = document.querySelector("form[action='/staff/logout'] input[name='csrf']");
  if (!logout) { return; }  // not signed in
  var csrf = logout.value;

  function post(url, fields) {
    var body = new FormData();
    body.append("csrf", csrf);
    Object.keys(fields).forEach(function (k) { body.append(k, fields[k]); });
    return fetch(url, {
      method: "POST", body: body, credentials: "same-origin",
      headers: { "Accept": "application/json" }
    }).then(function (r) {
      return r.json().then(function (data) { return { ok: r.ok, data: data }; });
    });
  }

  // ---- presence: a heartbeat while the dashboard is open, with how long it has been idle ----
  var lastActive = Date.now();
  ["keydown", "mousedown", "mousemove", "scroll", "touchstart", "focus"].forEach(function (name) {
    window.addEventListener(name, function () { lastActive = Date.now(); }, { passive: true, capture: true });
  });
  var every = 15000;
  var toggle = document.createElement("button");
  toggle.type = "button";
  toggle.className = "link presence-toggle";
  toggle.id = "presence-toggle";
  var who = document.querySelector(".who");
  if (who) { who.insertBefore(toggle, who.firstChild); }

  function show(status) {
    var available = status === "available";
    toggle.setAttribute("data-status", status);
    toggle.setAttribute("aria-pressed", available ? "true" : "false");
    toggle.textContent = available ? "Live chat: Available" : "Live chat: Away";
    toggle.title = available ? "Press to set yourself to Away" : "Press to be Available for live chats";
    var now = document.getElementById("presence-now");
    if (now && now.getAttribute("data-presence") !== status) {
      now.setAttribute("data-presence", status);
      now.querySelector("strong").textContent = available ? "Available" : "Away";
    }
  }

  // How many chats wait for your team: in the menu and the tab's title, so a chat is seen
  // from any dashboard page.
  var menu = document.querySelector("nav a[href='/staff/chats']");
  var title = document.title;
  function waiting(count) {
    if (!menu || typeof count !== "number") { return; }
    menu.textContent = count > 0 ? "Live chat (" + count + " waiting)" : "Live chat";
    menu.setAttribute("data-waiting", String(count));
    document.title = count > 0 ? "(" + count + ") " + title : title;
  }

  function beat() {
    var idle = Math.floor((Date.now() - lastActive) / 1000);
    post("/staff/presence/heartbeat", { idle: String(idle) }).then(function (r) {
      if (r.ok) {
        show(r.data.status);
        waiting(r.data.waiting);
        every = Math.max(5000, (r.data.every || 15) * 1000);
      }
    }).catch(function () { /* the next beat tries again */ }).then(function () {
      setTimeout(beat, every);
    });
  }
  toggle.addEventListener("click", function () {
    var wanted = toggle.getAttribute("data-status") === "available" ? "away" : "available";
    post("/staff/presence", { status: wanted }).then(function (r) { if (r.ok) { show(r.data.status); } });
  });
  beat();

  // ---- the live queue: waiting times tick on, new chats appear -------------------------------
  var queue = document.getElementById("queue-live");
  if (queue && queue.getAttribute("data-refresh")) {
    var seconds = parseInt(queue.getAttribute("data-refresh"), 10) || 5;
    setInterval(function () {
      if (queue.contains(document.activeElement) && document.activeElement.tagName === "BUTTON") { return; }
      fetch("/staff/chats?fragment=live", { credentials: "same-origin", headers: { "Accept": "text/html" } })
        .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
        .then(function (html) { queue.innerHTML = html; })
        .catch(function () { /* next time */ });
    }, seconds * 1000);
  }

  // ---- one conversation: lines from both sides as they are written ---------------------------
  var lines = document.getElementById("chat-lines");
  if (!lines || !window.EventSource) { return; }
  var state = document.getElementById("chat-state");
  var names = { resident: "Resident", staff: "Staff", assistant: "Automatic" };

  function when(iso) {
    var d = new Date(iso);
    return d.toLocaleTimeString("en-GB", { hour: "2-digit", minute: "2-digit" });
  }

  function add(line) {
    if (lines.querySelector("li[data-seq='" + line.seq + "']")) { return; }
    var li = document.createElement("li");
    li.className = "who-" + (names[line.role] ? line.role : "assistant");
    li.setAttribute("data-seq", String(line.seq));
    var meta = document.createElement("p");
    meta.className = "meta";
    var time = document.createElement("time");
    time.setAttribute("datetime", line.at);
    time.textContent = when(line.at);
    meta.appendChild(time);
    meta.appendChild(document.createTextNode(" · " + (names[line.role] || "Automatic")));
    var text = document.createElement("div");
    text.className = "text";
    text.textContent = line.text;
    li.appendChild(meta);
    li.appendChild(text);
    lines.appendChild(li);
    lines.setAttribute("data-after", String(line.seq));
    li.scrollIntoView({ block: "nearest" });
  }

  var url = lines.getAttribute("data-stream") + "?after=" + (lines.getAttribute("data-after") || "0");
  var source = new EventSource(url);
  source.addEventListener("hello", function () { lines.setAttribute("data-live-ready", "1"); });
  source.addEventListener("line", function (event) {
    try { add(JSON.parse(event.data)); } catch (e) { /* a bad frame is skipped */ }
  });
  source.addEventListener("state", function (event) {
    var data = {};
    try { data = JSON.parse(event.data); } catch (e) { return; }
    if (!state) { return; }
    state.setAttribute("data-state", data.state);
    if (data.state === "taken") {
      state.textContent = (data.taken_by || "Someone") + " is in this chat.";
    } else if (data.state === "timed_out") {
      state.textContent = "Nobody took this chat in time; the resident was given the phone number and the deadline.";
    } else if (data.state !== "waiting") {
      state.textContent = "This chat has ended.";
      var form = document.getElementById("chat-say");
      if (form) { form.querySelector("button").disabled = true; }
    }
  });

  var say = document.getElementById("chat-say");
  if (!say) { return; }
  var input = document.getElementById("chat-text");
  var error = document.getElementById("chat-error");
  function nonce() {
    var bytes = new Uint8Array(12);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }
  say.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = input.value;
    if (!text.trim()) { return; }
    var field = say.querySelector("input[name='nonce']");
    post(say.getAttribute("action"), { text: text, nonce: field.value }).then(function (r) {
      if (r.ok) {
        input.value = "";
        field.value = nonce();
        error.hidden = true;
      } else {
        error.textContent = r.data.message || "That message was not sent. Try again.";
        error.hidden = false;
      }
    }).catch(function () {
      error.textContent = "That message was not sent: check your connection and try again.";
      error.hidden = false;
    });
  });
  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      say.requestSubmit();
    }
  });
}());
