/* Doorstep web chat: the chat itself, running in an iframe on Doorstep's own origin.

   A landlord's page includes only the loader (widget.js), which adds this page
   (/webchat/frame) in an iframe. The chat's token and history live in this origin's storage,
   which the host page and its scripts (analytics, tag managers) cannot read (PRIVACY).

   - Messages are shown with textContent only: HTML or script a resident (or anyone) types is
     shown as text and never runs.
   - The browser keeps its chat token and any unsent messages in localStorage. Every message
     has an id made here, so a resend after a dropped connection is stored once; the server
     numbers what it stores and replays what this page has not seen (no message lost or
     shown twice).
   - The token is forgotten after the idle time the server gives (default 24 hours; the
     server refuses an idle token too), and "End chat and clear this device" ends the chat
     on the server and clears everything this device kept: for shared computers.
   - The emergency number and opening hours are always one tap away, even offline.
   The DOM ids and ARIA roles are a public contract (docs/webchat.md): tests drive them.
*/
(function () {
  "use strict";

  var DEFAULTS = __DOORSTEP_DEFAULTS__;
  if (window.DoorstepChat) {
    return; // the script was included twice
  }

  var script =
    document.currentScript ||
    document.querySelector("script[data-doorstep-url]") ||
    document.querySelector("script[src$='/widget.js']");
  // This page is served by Doorstep itself: its origin is the chat server.
  var base = location.origin;
  var socketUrl = base.replace(/^http/i, "ws") + "/ws/chat";
  var storeKey = "doorstep-chat";
  var config = Object.assign({}, DEFAULTS);
  var framed = window.parent !== window;

  // ---- state ---------------------------------------------------------------------------
  forgetIfIdle();
  var token = read("token");
  var pending = readJson("pending", []); // [{id, text, display}] not yet confirmed stored
  var lastSeq = 0; // highest message number this page shows
  var seen = {}; // seq -> true
  var byClientId = {}; // client id -> element
  var socket = null;
  var ready = false;
  var attempts = 0;
  var timer = null;
  var quickFor = 0; // seq of the message whose quick replies are shown

  function read(name) {
    try {
      return window.localStorage.getItem(storeKey + ":" + name);
    } catch (e) {
      return null;
    }
  }
  function write(name, value) {
    try {
      if (value === null) {
        window.localStorage.removeItem(storeKey + ":" + name);
      } else {
        window.localStorage.setItem(storeKey + ":" + name, value);
      }
    } catch (e) {
      /* private mode: the chat still works for this page */
    }
  }
  function readJson(name, fallback) {
    try {
      var value = JSON.parse(read(name) || "null");
      return Array.isArray(value) ? value : fallback;
    } catch (e) {
      return fallback;
    }
  }
  // The server says how long a chat may sit idle (24 hours by default). A token older than
  // that is dropped here before it is used (the server would refuse it anyway), with any
  // unsent messages: they belong to whoever used this device before.
  function forgetIfIdle() {
    var active = Number(read("active") || 0);
    var idle = Number(read("idle") || 0);
    if (active && idle && Date.now() - active > idle * 1000) {
      clearStorage();
    }
  }
  function touch() {
    write("active", String(Date.now()));
  }
  function clearStorage() {
    ["token", "pending", "active", "idle"].forEach(function (name) {
      write(name, null);
    });
  }
  function savePending() {
    write("pending", pending.length ? JSON.stringify(pending) : null);
  }

  function makeId() {
    if (window.crypto && window.crypto.randomUUID) {
      return window.crypto.randomUUID();
    }
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map
      .call(bytes, function (b) {
        return ("0" + b.toString(16)).slice(-2);
      })
      .join("");
  }

  // ---- DOM helpers: text only, never HTML ------------------------------------------------
  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      node.setAttribute(key, attrs[key]);
    });
    if (text !== undefined && text !== null) {
      node.textContent = text;
    }
    return node;
  }

  function tel(number) {
    return "tel:" + String(number).replace(/[^0-9+]/g, "");
  }

  // Links and phone numbers in our own messages become tappable; each piece is still text.
  var LINKABLE = /(https?:\/\/[^\s<>"']+[^\s<>"'.,;:!?)])|(\b0\d{2,4}(?: ?\d){6,8}\b|\b999\b)/g;
  function fillText(node, text, linkify) {
    if (!linkify) {
      node.textContent = text;
      return;
    }
    var last = 0;
    text.replace(LINKABLE, function (match, url, phone, offset) {
      node.appendChild(document.createTextNode(text.slice(last, offset)));
      var link = url
        ? el("a", { href: url, target: "_blank", rel: "noopener noreferrer" }, url)
        : el("a", { href: tel(phone) }, phone);
      node.appendChild(link);
      last = offset + match.length;
      return match;
    });
    node.appendChild(document.createTextNode(text.slice(last)));
  }

  // ---- the widget ------------------------------------------------------------------------
  var root = el("div", { id: "ds-chat-root", class: "ds-chat" });
  var launcher = el(
    "button",
    {
      id: "ds-chat-launcher",
      class: "ds-chat__launcher",
      type: "button",
      "aria-expanded": "false",
      "aria-controls": "ds-chat-panel",
    },
    "Chat with us"
  );
  var panel = el("section", {
    id: "ds-chat-panel",
    class: "ds-chat__panel",
    role: "region",
    "aria-labelledby": "ds-chat-title",
    hidden: "",
  });
  var header = el("div", { class: "ds-chat__header" });
  var title = el("h2", { id: "ds-chat-title", class: "ds-chat__title" }, "Chat with " + config.organisation);
  var closeButton = el(
    "button",
    { id: "ds-chat-close", class: "ds-chat__close", type: "button", "aria-label": "Close chat" },
    "Close"
  );
  header.appendChild(title);
  header.appendChild(closeButton);

  var help = el("div", { class: "ds-chat__help" });
  var emergency = el(
    "a",
    { id: "ds-chat-emergency", class: "ds-chat__emergency", href: tel(config.emergencyPhone) },
    "Emergency? Call " + config.emergencyPhone
  );
  var hoursToggle = el(
    "button",
    {
      id: "ds-chat-hours-toggle",
      class: "ds-chat__hours-toggle",
      type: "button",
      "aria-expanded": "false",
      "aria-controls": "ds-chat-hours",
    },
    "Opening hours"
  );
  var hours = el("div", { id: "ds-chat-hours", class: "ds-chat__hours", hidden: "" });
  help.appendChild(emergency);
  help.appendChild(hoursToggle);

  function fillHours() {
    hours.textContent = "";
    hours.appendChild(el("p", null, "We are open " + config.openingHours + "."));
    var call = el("p", null, "Call us on ");
    call.appendChild(el("a", { href: tel(config.phone) }, config.phone));
    call.appendChild(document.createTextNode("."));
    hours.appendChild(call);
    var urgent = el("p", null, "Emergency repairs, at any time: ");
    urgent.appendChild(el("a", { href: tel(config.emergencyPhone) }, config.emergencyPhone));
    urgent.appendChild(document.createTextNode(". Smell gas? "));
    urgent.appendChild(el("a", { href: "tel:0800111999" }, "0800 111 999"));
    urgent.appendChild(document.createTextNode(". In danger? "));
    urgent.appendChild(el("a", { href: "tel:999" }, "999"));
    urgent.appendChild(document.createTextNode("."));
    hours.appendChild(urgent);
  }
  fillHours();

  var reference = el("p", { id: "ds-chat-reference", class: "ds-chat__reference", hidden: "" });
  var status = el("p", { id: "ds-chat-status", class: "ds-chat__status", role: "status" }, "Connecting…");
  var log = el("div", {
    id: "ds-chat-log",
    class: "ds-chat__log",
    role: "log",
    "aria-live": "polite",
    "aria-label": "Conversation",
    tabindex: "0",
  });
  var greeting = el("p", { id: "ds-chat-greeting", class: "ds-chat__greeting" });
  log.appendChild(greeting);
  var notice = el("p", { id: "ds-chat-notice", class: "ds-chat__notice", role: "status", hidden: "" });
  function showNotice(text) {
    notice.textContent = text;
    notice.hidden = !text;
  }
  var quick = el("div", { id: "ds-chat-quick", class: "ds-chat__quick", hidden: "" });
  var error = el("p", { id: "ds-chat-error", class: "ds-chat__error", role: "alert" });

  var form = el("form", { id: "ds-chat-form", class: "ds-chat__form", novalidate: "" });
  var label = el("label", { for: "ds-chat-input", class: "ds-chat__label" }, "Your message");
  var hint = el(
    "p",
    { id: "ds-chat-hint", class: "ds-chat__hint" },
    "Press Enter to send. Shift and Enter starts a new line."
  );
  var input = el("textarea", {
    id: "ds-chat-input",
    class: "ds-chat__input",
    name: "message",
    rows: "2",
    maxlength: String(config.maxChars),
    autocomplete: "off",
    "aria-describedby": "ds-chat-hint",
  });
  var sendButton = el("button", { id: "ds-chat-send", class: "ds-chat__send", type: "submit" }, "Send");
  var row = el("div", { class: "ds-chat__row" });
  row.appendChild(input);
  row.appendChild(sendButton);
  form.appendChild(label);
  form.appendChild(hint);
  form.appendChild(row);

  var ending = el("div", { class: "ds-chat__end" });
  var sharedNote = el(
    "p",
    { id: "ds-chat-shared-note", class: "ds-chat__note" },
    "Using a shared or public computer? When you finish, end the chat. This device will then keep nothing from it."
  );
  var endButton = el(
    "button",
    { id: "ds-chat-end", class: "ds-chat__end-button", type: "button" },
    "End chat and clear this device"
  );
  ending.appendChild(sharedNote);
  ending.appendChild(endButton);

  // Focus order follows reading order: close, emergency, hours, conversation, replies, input.
  [header, help, hours, reference, status, notice, log, quick, error, form, ending].forEach(function (node) {
    panel.appendChild(node);
  });
  root.appendChild(launcher);
  root.appendChild(panel);

  function addStyles() {
    if (document.querySelector("link[data-doorstep-css], link[href$='/webchat/widget.css']")) {
      return;
    }
    var link = el("link", { rel: "stylesheet", href: base + "/webchat/widget.css" });
    link.setAttribute("data-doorstep-css", "");
    document.head.appendChild(link);
  }

  // ---- open / close ------------------------------------------------------------------------
  // The loader sizes the iframe: small for the launcher, large for the open chat.
  function tellHost(isOpen) {
    if (framed) {
      window.parent.postMessage({ type: "doorstep-chat", open: isOpen }, "*");
    }
  }
  function open(focus) {
    tellHost(true);
    panel.hidden = false;
    launcher.setAttribute("aria-expanded", "true");
    launcher.hidden = true;
    if (!socket && !timer) {
      connect();
    }
    scrollDown(true);
    if (focus !== false) {
      input.focus();
    }
  }
  function close() {
    panel.hidden = true;
    launcher.hidden = false;
    launcher.setAttribute("aria-expanded", "false");
    launcher.focus();
    tellHost(false);
  }
  launcher.addEventListener("click", function () {
    open(true);
  });
  closeButton.addEventListener("click", close);
  panel.addEventListener("keydown", function (event) {
    if (event.key === "Escape") {
      close();
    }
  });
  // The host page may open or close the chat (window.DoorstepChat in the loader), and do
  // nothing else: no message from it is ever shown or sent.
  window.addEventListener("message", function (event) {
    if (event.source !== window.parent || !event.data || event.data.type !== "doorstep-chat:command") {
      return;
    }
    if (event.data.command === "open") {
      open(true);
    } else if (event.data.command === "close") {
      close();
    }
  });
  hoursToggle.addEventListener("click", function () {
    var show = hours.hidden;
    hours.hidden = !show;
    hoursToggle.setAttribute("aria-expanded", show ? "true" : "false");
  });

  // ---- messages ----------------------------------------------------------------------------
  var WHO = { resident: "You", assistant: "Assistant", staff: "Staff" };

  function nearBottom() {
    return log.scrollHeight - log.scrollTop - log.clientHeight < 80;
  }
  function scrollDown(force) {
    if (force || nearBottom()) {
      log.scrollTop = log.scrollHeight;
    }
  }

  function bubble(role, text, clientId) {
    var node = el("div", { class: "ds-msg ds-msg--" + role, "data-role": role });
    if (clientId) {
      node.setAttribute("data-client-id", clientId);
    }
    var who = role === "assistant" ? config.organisation : WHO[role] || "Message";
    node.appendChild(el("p", { class: "ds-msg__who" }, who));
    var body = el("p", { class: "ds-msg__text" });
    fillText(body, text, role !== "resident");
    node.appendChild(body);
    return node;
  }

  function setState(node, text) {
    var state = node.querySelector(".ds-msg__state");
    if (!text) {
      if (state) {
        node.removeChild(state);
      }
      return;
    }
    if (!state) {
      state = el("p", { class: "ds-msg__state" });
      node.appendChild(state);
    }
    state.textContent = text;
  }

  // Confirmed messages are kept in number order; unconfirmed ones stay at the bottom.
  function place(node, seq) {
    var items = log.querySelectorAll(".ds-msg");
    for (var i = 0; i < items.length; i++) {
      var other = items[i];
      if (other === node) {
        continue;
      }
      var otherSeq = other.getAttribute("data-seq");
      if (!otherSeq || Number(otherSeq) > seq) {
        log.insertBefore(node, other);
        return;
      }
    }
    log.appendChild(node);
  }

  function showLine(frame) {
    var seq = Number(frame.seq);
    if (!seq || seen[seq]) {
      return; // shown already: a replay overlapping what this page has
    }
    seen[seq] = true;
    lastSeq = Math.max(lastSeq, seq);
    var node = frame.id ? byClientId[frame.id] : null;
    if (node) {
      node.classList.remove("ds-msg--pending", "ds-msg--failed");
      setState(node, null);
      node.setAttribute("data-seq", String(seq));
      place(node, seq);
    } else {
      node = bubble(frame.role, frame.text, frame.id);
      node.setAttribute("data-seq", String(seq));
      if (frame.id) {
        byClientId[frame.id] = node;
      }
      place(node, seq);
    }
    if (frame.id) {
      forget(frame.id);
    }
    if (frame.reference) {
      showReference(frame.reference);
    }
    if (seq >= quickFor) {
      showQuick(frame.role === "resident" ? [] : frame.buttons || [], seq);
    }
    scrollDown(frame.role === "resident");
  }

  function showReference(value) {
    reference.textContent = "";
    reference.appendChild(document.createTextNode("Your reference: "));
    reference.appendChild(el("strong", null, value));
    reference.hidden = false;
  }

  function showQuick(buttons, seq) {
    quickFor = seq;
    quick.textContent = "";
    buttons.forEach(function (button) {
      var node = el("button", { type: "button", class: "ds-chat__quick-reply" }, button.title);
      node.addEventListener("click", function () {
        send(button.payload || button.title, button.title);
        input.focus();
      });
      quick.appendChild(node);
    });
    quick.hidden = buttons.length === 0;
  }

  function forget(clientId) {
    var before = pending.length;
    pending = pending.filter(function (item) {
      return item.id !== clientId;
    });
    if (pending.length !== before) {
      savePending();
    }
  }

  function showPending(item) {
    var node = bubble("resident", item.display || item.text, item.id);
    node.classList.add("ds-msg--pending");
    setState(node, "Sending…");
    byClientId[item.id] = node;
    log.appendChild(node);
    scrollDown(true);
  }

  function transmit(item) {
    if (socket && ready) {
      var frame = { type: "message", id: item.id, text: item.text };
      if (item.display && item.display !== item.text) {
        frame.display = item.display;
      }
      socket.send(JSON.stringify(frame));
    }
  }

  function send(text, display) {
    var item = { id: makeId(), text: text };
    if (display) {
      item.display = display;
    }
    pending.push(item);
    savePending();
    touch();
    showPending(item);
    showQuick([], quickFor);
    error.textContent = "";
    transmit(item);
  }

  function failed(frame) {
    error.textContent = frame.message || "Something went wrong.";
    var node = frame.id ? byClientId[frame.id] : null;
    if (node && !node.getAttribute("data-seq")) {
      node.classList.remove("ds-msg--pending");
      node.classList.add("ds-msg--failed");
      setState(node, "Not sent.");
      forget(frame.id);
    }
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = input.value.trim();
    if (!text) {
      error.textContent = "Please type a message first.";
      input.focus();
      return;
    }
    input.value = "";
    send(text);
    input.focus();
  });
  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit ? form.requestSubmit() : sendButton.click();
    }
  });

  // ---- connection: hello, replay, resend, reconnect with back-off ------------------------------
  var STATUS = {
    connecting: "Connecting…",
    online: "Connected.",
    offline: "Connection lost. Trying again… Your messages are kept and will be sent.",
  };
  function setStatus(name) {
    status.setAttribute("data-state", name);
    if (status.textContent !== STATUS[name]) {
      status.textContent = STATUS[name];
    }
  }

  function handle(frame) {
    if (frame.type === "welcome") {
      token = frame.token;
      write("token", token);
      if (frame.idleSeconds) {
        write("idle", String(frame.idleSeconds));
      }
      touch();
      if (frame.expired) {
        status.setAttribute("data-expired", "true");
        showNotice(
          "Your earlier chat ended because it was not used for a while. If you had a reference, please quote it."
        );
      }
      if (frame.reset) {
        Array.prototype.slice.call(log.querySelectorAll(".ds-msg[data-seq]")).forEach(function (node) {
          log.removeChild(node);
        });
        seen = {};
        lastSeq = 0;
      }
      ["organisation", "phone", "emergencyPhone", "openingHours", "maxChars"].forEach(function (key) {
        if (frame[key] !== undefined) {
          config[key] = frame[key];
        }
      });
      greeting.textContent = frame.greeting || "";
      if (frame.reference) {
        showReference(frame.reference);
      }
    } else if (frame.type === "message") {
      showLine(frame);
    } else if (frame.type === "ready") {
      ready = true;
      setStatus("online");
      pending.slice().forEach(transmit);
    } else if (frame.type === "error") {
      failed(frame);
    }
  }

  // ---- end chat and clear this device ---------------------------------------------------
  function endChat() {
    if (socket && ready) {
      socket.send(JSON.stringify({ type: "end" }));
    }
    var ws = socket;
    socket = null;
    ready = false;
    if (ws) {
      ws.onclose = null;
      ws.close();
    }
    clearTimeout(timer);
    timer = null;
    clearStorage();
    token = null;
    pending = [];
    lastSeq = 0;
    seen = {};
    byClientId = {};
    Array.prototype.slice.call(log.querySelectorAll(".ds-msg")).forEach(function (node) {
      log.removeChild(node);
    });
    reference.textContent = "";
    reference.hidden = true;
    showQuick([], 0);
    error.textContent = "";
    status.setAttribute("data-ended", "true");
    showNotice("Your chat has ended and nothing from it is kept on this device. You can start a new chat below.");
    attempts = 0;
    connect();
    input.focus();
  }
  endButton.addEventListener("click", endChat);

  function connect() {
    timer = null;
    setStatus(attempts ? "offline" : "connecting");
    var ws;
    try {
      ws = new WebSocket(socketUrl);
    } catch (e) {
      retry();
      return;
    }
    socket = ws;
    ws.onopen = function () {
      attempts = 0;
      ws.send(JSON.stringify({ type: "hello", token: token, after: lastSeq }));
    };
    ws.onmessage = function (event) {
      var frame;
      try {
        frame = JSON.parse(event.data);
      } catch (e) {
        return;
      }
      if (frame && typeof frame === "object") {
        handle(frame);
      }
    };
    ws.onclose = function () {
      if (socket === ws) {
        socket = null;
        ready = false;
        setStatus("offline");
        retry();
      }
    };
  }

  function retry() {
    if (timer) {
      return;
    }
    // Exponential back-off with jitter: 0.5 s, 1 s, 2 s ... at most 15 s.
    var delay = Math.min(15000, 500 * Math.pow(2, attempts)) * (0.75 + Math.random() * 0.5);
    attempts += 1;
    timer = setTimeout(connect, delay);
  }

  window.addEventListener("online", function () {
    if (!socket) {
      clearTimeout(timer);
      timer = null;
      connect();
    }
  });

  function start() {
    addStyles();
    document.body.appendChild(root);
    pending.forEach(showPending);
    connect();
    var wantOpen = /(?:^|[?&])open=1(?:&|$)/.test(location.search);
    if (wantOpen || (script && script.getAttribute("data-doorstep-open") === "true")) {
      open(false);
    }
  }

  window.DoorstepChat = { open: open, close: close };
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
