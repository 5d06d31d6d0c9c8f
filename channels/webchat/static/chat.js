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

  // ---- the widget's own words, in English and Welsh (one place; docs/accessibility.md) ----
  // Resident messages (greeting, replies) come from the server's templates, not from here.
  // {name} is filled in by say(). The Welsh needs a fluent speaker's review before release.
  var STRINGS = {
    en: {
      launcher: "Chat with us",
      title: "Chat with {org}",
      close: "Close",
      closeLabel: "Close chat",
      emergency: "Emergency? Call {phone}",
      hoursToggle: "Opening hours",
      open: "We are open {hours}.",
      callUs: "Call us on ",
      urgent: "Emergency repairs, at any time: ",
      gas: ". Smell gas? ",
      danger: ". In danger? ",
      reference: "Your reference: ",
      conversation: "Conversation",
      label: "Your message",
      hint: "Press Enter to send. Shift and Enter starts a new line.",
      counter: "{count} of {max} characters",
      send: "Send",
      sharedNote:
        "Using a shared or public computer? When you finish, end the chat. This device will then keep nothing from it.",
      end: "End chat and clear this device",
      you: "You",
      staff: "Staff",
      message: "Message",
      sending: "Sending…",
      notSent: "Not sent.",
      empty: "Please type a message first.",
      wrong: "Something went wrong.",
      tooLong:
        "Your message is too long to send. It has {count} characters and you can send up to {max}. Please make it shorter or send it in parts. Your message is still in the box.",
      rateLimited:
        "You are sending messages very quickly. Please wait a minute, then try again. For an emergency repair, call {phone}.",
      connecting: "Connecting…",
      online: "Connected.",
      offline: "Connection lost. Trying again… Your messages are kept and will be sent.",
      expired:
        "Your earlier chat ended because it was not used for a while. If you had a reference, please quote it.",
      ended: "Your chat has ended and nothing from it is kept on this device. You can start a new chat below.",
      display: "Display options",
      largeText: "Larger text",
      contrast: "High contrast",
      otherLanguage: "Cymraeg",
    },
    cy: {
      launcher: "Sgwrsio â ni",
      title: "Sgwrsio â {org}",
      close: "Cau",
      closeLabel: "Cau'r sgwrs",
      emergency: "Argyfwng? Ffoniwch {phone}",
      hoursToggle: "Oriau agor",
      open: "Rydym ar agor {hours}.",
      callUs: "Ffoniwch ni ar ",
      urgent: "Atgyweiriadau brys, unrhyw bryd: ",
      gas: ". Arogli nwy? ",
      danger: ". Mewn perygl? ",
      reference: "Eich cyfeirnod: ",
      conversation: "Sgwrs",
      label: "Eich neges",
      hint: "Pwyswch Enter i anfon. Mae Shift ac Enter yn dechrau llinell newydd.",
      counter: "{count} o {max} nod",
      send: "Anfon",
      sharedNote:
        "Ydych chi'n defnyddio cyfrifiadur cyhoeddus neu gyfrifiadur a rennir? Pan fyddwch wedi gorffen, dewch â'r sgwrs i ben. Ni fydd y ddyfais hon yn cadw dim ohoni wedyn.",
      end: "Dod â'r sgwrs i ben a chlirio'r ddyfais hon",
      you: "Chi",
      staff: "Staff",
      message: "Neges",
      sending: "Yn anfon…",
      notSent: "Heb ei hanfon.",
      empty: "Teipiwch neges yn gyntaf.",
      wrong: "Aeth rhywbeth o'i le.",
      tooLong:
        "Mae eich neges yn rhy hir i'w hanfon. Mae ganddi {count} nod a gallwch anfon hyd at {max}. Gwnewch hi'n fyrrach neu anfonwch hi fesul darn. Mae eich neges yn dal yn y blwch.",
      rateLimited:
        "Rydych yn anfon negeseuon yn gyflym iawn. Arhoswch funud, yna rhowch gynnig arall arni. Ar gyfer atgyweiriad brys, ffoniwch {phone}.",
      connecting: "Yn cysylltu…",
      online: "Wedi cysylltu.",
      offline: "Mae'r cysylltiad wedi'i golli. Yn ceisio eto… Bydd eich negeseuon yn cael eu cadw a'u hanfon.",
      expired:
        "Daeth eich sgwrs gynharach i ben am nad oedd wedi'i defnyddio ers tro. Os oedd gennych gyfeirnod, nodwch ef.",
      ended: "Mae eich sgwrs wedi dod i ben a does dim ohoni wedi'i gadw ar y ddyfais hon. Gallwch ddechrau sgwrs newydd isod.",
      display: "Dewisiadau dangos",
      largeText: "Testun mwy",
      contrast: "Cyferbyniad uchel",
      otherLanguage: "English",
    },
  };

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

  // ---- language and display options (remembered on this device, not chat content) ------
  // The loader passes ?lang=cy or ?lang=en when the landlord's page is in Welsh or says
  // data-lang: then the resident is offered the switch (Cymraeg / English). Otherwise the
  // widget is in English only.
  var params = new URLSearchParams(location.search);
  var offered = params.get("lang") === "cy" || params.get("lang") === "en";
  var chosen = read("lang");
  var lang = offered ? (chosen === "cy" || chosen === "en" ? chosen : params.get("lang")) : "en";
  var prefs = { large: read("large") === "1", contrast: read("contrast") === "1" };

  function say(key, values) {
    var text = (STRINGS[lang] || STRINGS.en)[key];
    if (text === undefined) {
      text = STRINGS.en[key];
    }
    return String(text).replace(/\{(\w+)\}/g, function (whole, name) {
      return values && values[name] !== undefined ? String(values[name]) : whole;
    });
  }
  function number(value) {
    return Number(value).toLocaleString("en-GB");
  }

  // Every fixed word of the widget is set through `words`, so a language switch redraws all.
  var words = [];
  function word(node, key, attr, values) {
    words.push({ node: node, key: key, attr: attr, values: values });
    return node;
  }
  function redrawWords() {
    words.forEach(function (w) {
      var values = typeof w.values === "function" ? w.values() : w.values;
      if (w.attr) {
        w.node.setAttribute(w.attr, say(w.key, values));
      } else {
        w.node.textContent = say(w.key, values);
      }
    });
  }

  // ---- the widget ------------------------------------------------------------------------
  var root = el("div", { id: "ds-chat-root", class: "ds-chat" });
  var launcher = word(
    el("button", {
      id: "ds-chat-launcher",
      class: "ds-chat__launcher",
      type: "button",
      "aria-expanded": "false",
      "aria-controls": "ds-chat-panel",
    }),
    "launcher"
  );
  var panel = el("section", {
    id: "ds-chat-panel",
    class: "ds-chat__panel",
    role: "region",
    "aria-labelledby": "ds-chat-title",
    hidden: "",
  });
  var header = el("div", { class: "ds-chat__header" });
  var title = word(el("h2", { id: "ds-chat-title", class: "ds-chat__title" }), "title", null, function () {
    return { org: config.organisation };
  });
  var language = el("button", { id: "ds-chat-language", class: "ds-chat__language", type: "button" });
  // Its name is its visible word, in its own language (lang attribute): "Cymraeg" / "English",
  // so voice control users can say what they see (WCAG 2.5.3).
  word(language, "otherLanguage");
  var closeButton = el("button", { id: "ds-chat-close", class: "ds-chat__close", type: "button" });
  word(closeButton, "close");
  word(closeButton, "closeLabel", "aria-label");
  header.appendChild(title);
  var headerTools = el("div", { class: "ds-chat__header-tools" });
  if (offered) {
    headerTools.appendChild(language);
  }
  headerTools.appendChild(closeButton);
  header.appendChild(headerTools);

  var help = el("div", { class: "ds-chat__help" });
  var emergency = word(
    el("a", { id: "ds-chat-emergency", class: "ds-chat__emergency", href: tel(config.emergencyPhone) }),
    "emergency",
    null,
    function () {
      return { phone: config.emergencyPhone };
    }
  );
  var hoursToggle = word(
    el("button", {
      id: "ds-chat-hours-toggle",
      class: "ds-chat__hours-toggle",
      type: "button",
      "aria-expanded": "false",
      "aria-controls": "ds-chat-hours",
    }),
    "hoursToggle"
  );
  var hours = el("div", { id: "ds-chat-hours", class: "ds-chat__hours", hidden: "" });
  help.appendChild(emergency);
  help.appendChild(hoursToggle);

  function fillHours() {
    hours.textContent = "";
    hours.appendChild(el("p", null, say("open", { hours: config.openingHours })));
    var call = el("p", null, say("callUs"));
    call.appendChild(el("a", { href: tel(config.phone) }, config.phone));
    call.appendChild(document.createTextNode("."));
    hours.appendChild(call);
    var urgent = el("p", null, say("urgent"));
    urgent.appendChild(el("a", { href: tel(config.emergencyPhone) }, config.emergencyPhone));
    urgent.appendChild(document.createTextNode(say("gas")));
    urgent.appendChild(el("a", { href: "tel:0800111999" }, "0800 111 999"));
    urgent.appendChild(document.createTextNode(say("danger")));
    urgent.appendChild(el("a", { href: "tel:999" }, "999"));
    urgent.appendChild(document.createTextNode("."));
    hours.appendChild(urgent);
  }

  var reference = el("p", { id: "ds-chat-reference", class: "ds-chat__reference", hidden: "" });
  var status = el("p", { id: "ds-chat-status", class: "ds-chat__status", role: "status" });
  var log = el("div", {
    id: "ds-chat-log",
    class: "ds-chat__log",
    role: "log",
    "aria-live": "polite",
    "aria-relevant": "additions",
    tabindex: "0",
  });
  word(log, "conversation", "aria-label");
  var greeting = el("p", { id: "ds-chat-greeting", class: "ds-chat__greeting" });
  log.appendChild(greeting);
  var notice = el("p", { id: "ds-chat-notice", class: "ds-chat__notice", role: "status", hidden: "" });
  var noticeKey = null;
  function showNotice(key) {
    noticeKey = key;
    notice.textContent = key ? say(key) : "";
    notice.hidden = !key;
  }
  var quick = el("div", { id: "ds-chat-quick", class: "ds-chat__quick", hidden: "" });
  var error = el("p", { id: "ds-chat-error", class: "ds-chat__error", role: "alert" });
  var errorWords = null; // [key, values] of the error shown, so a language switch redraws it
  function showError(key, values) {
    errorWords = key ? [key, values] : null;
    error.textContent = key ? say(key, values) : "";
  }
  function showServerError(text) {
    errorWords = null;
    error.textContent = text;
  }

  var form = el("form", { id: "ds-chat-form", class: "ds-chat__form", novalidate: "" });
  var label = word(el("label", { for: "ds-chat-input", class: "ds-chat__label" }), "label");
  var hint = word(el("p", { id: "ds-chat-hint", class: "ds-chat__hint" }), "hint");
  // No maxlength: the browser would cut a long paste without a word. The counter says how
  // long the message is, and a message over the limit is refused before it is sent, with
  // the text kept in the box (nothing the resident wrote is lost).
  var counter = word(el("p", { id: "ds-chat-counter", class: "ds-chat__counter" }), "counter", null, function () {
    return { count: number(input.value.length), max: number(config.maxChars) };
  });
  var input = el("textarea", {
    id: "ds-chat-input",
    class: "ds-chat__input",
    name: "message",
    rows: "2",
    autocomplete: "off",
    "aria-describedby": "ds-chat-hint ds-chat-counter ds-chat-error",
  });
  var sendButton = word(el("button", { id: "ds-chat-send", class: "ds-chat__send", type: "submit" }), "send");
  var row = el("div", { class: "ds-chat__row" });
  row.appendChild(input);
  row.appendChild(sendButton);
  form.appendChild(label);
  form.appendChild(hint);
  form.appendChild(row);
  form.appendChild(counter);

  function updateCounter() {
    var over = input.value.length > config.maxChars;
    counter.textContent = say("counter", { count: number(input.value.length), max: number(config.maxChars) });
    counter.classList.toggle("ds-chat__counter--over", over);
    if (!over && input.getAttribute("aria-invalid")) {
      input.removeAttribute("aria-invalid");
      if (errorWords && errorWords[0] === "tooLong") {
        showError(null);
      }
    }
  }
  input.addEventListener("input", updateCounter);

  // Display options: larger text and high contrast, remembered on this device.
  var options = el("div", { id: "ds-chat-options", class: "ds-chat__options", role: "group" });
  word(options, "display", "aria-label");
  var largeButton = word(
    el("button", { id: "ds-chat-large", class: "ds-chat__option", type: "button", "aria-pressed": "false" }),
    "largeText"
  );
  var contrastButton = word(
    el("button", { id: "ds-chat-contrast", class: "ds-chat__option", type: "button", "aria-pressed": "false" }),
    "contrast"
  );
  options.appendChild(largeButton);
  options.appendChild(contrastButton);

  var ending = el("div", { class: "ds-chat__end" });
  var sharedNote = word(el("p", { id: "ds-chat-shared-note", class: "ds-chat__note" }), "sharedNote");
  var endButton = word(el("button", { id: "ds-chat-end", class: "ds-chat__end-button", type: "button" }), "end");
  ending.appendChild(options);
  ending.appendChild(sharedNote);
  ending.appendChild(endButton);

  // Focus order follows reading order: language, close, emergency, hours, conversation,
  // replies, input, send, display options, end chat.
  [header, help, hours, reference, status, notice, log, quick, error, form, ending].forEach(function (node) {
    panel.appendChild(node);
  });
  root.appendChild(launcher);
  root.appendChild(panel);

  function applyPrefs() {
    var html = document.documentElement;
    html.classList.toggle("ds-large", prefs.large);
    html.classList.toggle("ds-contrast", prefs.contrast);
    largeButton.setAttribute("aria-pressed", prefs.large ? "true" : "false");
    contrastButton.setAttribute("aria-pressed", prefs.contrast ? "true" : "false");
  }
  largeButton.addEventListener("click", function () {
    prefs.large = !prefs.large;
    write("large", prefs.large ? "1" : null);
    applyPrefs();
  });
  contrastButton.addEventListener("click", function () {
    prefs.contrast = !prefs.contrast;
    write("contrast", prefs.contrast ? "1" : null);
    applyPrefs();
  });

  function applyLanguage() {
    document.documentElement.lang = lang === "cy" ? "cy" : "en-GB";
    language.setAttribute("lang", lang === "cy" ? "en-GB" : "cy");
    document.title = say("title", { org: config.organisation });
    redrawWords();
    fillHours();
    updateCounter();
    if (reference.getAttribute("data-value")) {
      showReference(reference.getAttribute("data-value"));
    }
    if (status.getAttribute("data-state")) {
      status.textContent = say(status.getAttribute("data-state"));
    }
    if (noticeKey) {
      showNotice(noticeKey);
    }
    if (errorWords) {
      showError(errorWords[0], errorWords[1]);
    }
    Array.prototype.forEach.call(log.querySelectorAll(".ds-msg"), function (node) {
      var who = node.querySelector(".ds-msg__who");
      if (who) {
        who.textContent = whoName(node.getAttribute("data-role"));
      }
      var state = node.getAttribute("data-state-key");
      if (state) {
        setState(node, state);
      }
    });
  }
  language.addEventListener("click", function () {
    lang = lang === "cy" ? "en" : "cy";
    write("lang", lang);
    applyLanguage();
    tellHost(!panel.hidden);
    language.focus();
  });
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
      // The loader names the iframe in the resident's language and sizes it.
      window.parent.postMessage(
        { type: "doorstep-chat", open: isOpen, lang: lang, title: say("title", { org: config.organisation }) },
        "*"
      );
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
    fullScreen = event.data.full === true;
  });
  // When the loader says the chat fills the screen (a phone), Tab and Shift+Tab wrap round
  // inside the open chat, as in a dialog: the page under it cannot be seen, so focus must
  // not go there. Close (or Escape) gives the page back.
  var fullScreen = false;
  panel.addEventListener("keydown", function (event) {
    if (!fullScreen || event.key !== "Tab") {
      return;
    }
    var stops = Array.prototype.filter.call(
      panel.querySelectorAll("a[href], button, textarea, [tabindex='0']"),
      function (node) {
        return node.offsetParent !== null && !node.disabled;
      }
    );
    if (!stops.length) {
      return;
    }
    var first = stops[0];
    var last = stops[stops.length - 1];
    if (event.shiftKey && document.activeElement === first) {
      event.preventDefault();
      last.focus();
    } else if (!event.shiftKey && document.activeElement === last) {
      event.preventDefault();
      first.focus();
    }
  });
  hoursToggle.addEventListener("click", function () {
    var show = hours.hidden;
    hours.hidden = !show;
    hoursToggle.setAttribute("aria-expanded", show ? "true" : "false");
  });

  // ---- messages ----------------------------------------------------------------------------
  var WHO = { resident: "you", staff: "staff" };
  function whoName(role) {
    return role === "assistant" ? config.organisation : say(WHO[role] || "message");
  }

  function nearBottom() {
    return log.scrollHeight - log.scrollTop - log.clientHeight < 80;
  }
  function scrollDown(force) {
    if (force || nearBottom()) {
      log.scrollTop = log.scrollHeight;
    }
  }
  // A new reply is brought into view wherever the resident had scrolled: all of it when it
  // fits, else its start (a long reply is read from the top). The log is a live region, so
  // screen readers announce it as well. The log is the offsetParent (position: relative).
  function reveal(node) {
    var top = node.offsetTop - 8;
    var bottom = node.offsetTop + node.offsetHeight + 8;
    if (bottom - top > log.clientHeight) {
      log.scrollTop = top;
    } else if (bottom > log.scrollTop + log.clientHeight || top < log.scrollTop) {
      log.scrollTop = bottom - log.clientHeight;
    }
  }

  function bubble(role, text, clientId) {
    var node = el("div", { class: "ds-msg ds-msg--" + role, "data-role": role });
    if (clientId) {
      node.setAttribute("data-client-id", clientId);
    }
    node.appendChild(el("p", { class: "ds-msg__who" }, whoName(role)));
    var body = el("p", { class: "ds-msg__text" });
    fillText(body, text, role !== "resident");
    node.appendChild(body);
    return node;
  }

  function setState(node, key) {
    var state = node.querySelector(".ds-msg__state");
    if (!key) {
      node.removeAttribute("data-state-key");
      if (state) {
        node.removeChild(state);
      }
      return;
    }
    if (!state) {
      state = el("p", { class: "ds-msg__state" });
      node.appendChild(state);
    }
    node.setAttribute("data-state-key", key);
    state.textContent = say(key);
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
    if (frame.role === "resident") {
      scrollDown(true);
    } else {
      reveal(node);
    }
  }

  function showReference(value) {
    reference.textContent = "";
    reference.setAttribute("data-value", value);
    reference.appendChild(document.createTextNode(say("reference")));
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
    setState(node, "sending");
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
    showError(null);
    transmit(item);
  }

  // The server's words are English; the ones the widget knows are shown in the resident's
  // language.
  function failed(frame) {
    if (frame.code === "too_long") {
      showError("tooLong", { count: number(frame.count || config.maxChars + 1), max: number(config.maxChars) });
    } else if (frame.code === "empty") {
      showError("empty");
    } else if (frame.code === "rate_limited") {
      showError("rateLimited", { phone: config.emergencyPhone });
    } else if (frame.message && lang === "en") {
      showServerError(frame.message);
    } else {
      showError("wrong");
    }
    var node = frame.id ? byClientId[frame.id] : null;
    if (node && !node.getAttribute("data-seq")) {
      node.classList.remove("ds-msg--pending");
      node.classList.add("ds-msg--failed");
      setState(node, "notSent");
      forget(frame.id);
    }
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = input.value.trim();
    if (!text) {
      showError("empty");
      input.focus();
      return;
    }
    if (text.length > config.maxChars) {
      // Refused here, before sending, and the text stays in the box: nothing is lost.
      input.setAttribute("aria-invalid", "true");
      showError("tooLong", { count: number(text.length), max: number(config.maxChars) });
      input.focus();
      return;
    }
    input.value = "";
    input.removeAttribute("aria-invalid");
    updateCounter();
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
  function setStatus(name) {
    status.setAttribute("data-state", name);
    if (status.textContent !== say(name)) {
      status.textContent = say(name);
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
        showNotice("expired");
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
      redrawWords();
      fillHours();
      updateCounter();
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
    reference.removeAttribute("data-value");
    reference.hidden = true;
    showQuick([], 0);
    showError(null);
    status.setAttribute("data-ended", "true");
    showNotice("ended");
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
    applyPrefs();
    applyLanguage();
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
