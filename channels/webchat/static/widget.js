/* Doorstep web chat loader: one script tag on any page.

     <script src="https://chat.example.org.uk/widget.js" defer></script>

   Optional: data-doorstep-open="true" opens the chat when the page loads.
   Optional: data-lang="cy" (or "en") offers the resident the Welsh / English switch and
   starts in that language; without it, a page whose <html lang> is Welsh does the same.
   A link to "#ds-chat-frame" (a skip link) opens the chat and moves focus into it.

   The chat itself runs in an iframe served by Doorstep (/webchat/frame, chat.js), on
   Doorstep's own origin: the host page and any script on it (analytics, a tag manager)
   cannot read the chat's token, its history or what the resident types (PRIVACY). This
   loader only places and sizes that iframe, and lets the page open or close the chat
   (window.DoorstepChat.open() / .close()).
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
  var base =
    (script && script.getAttribute("data-doorstep-url")) ||
    (script && script.src ? new URL(script.src, location.href).origin : location.origin);
  base = base.replace(/\/+$/, "");
  var origin = new URL(base).origin;
  var autoOpen = !!script && script.getAttribute("data-doorstep-open") === "true";
  // Welsh is offered when the loader says so, or when the page itself is in Welsh.
  var lang = ((script && script.getAttribute("data-lang")) || "").toLowerCase().slice(0, 2);
  if (lang !== "cy" && lang !== "en") {
    lang = /^cy\b/i.test(document.documentElement.lang || "") ? "cy" : "";
  }
  var query = [];
  if (autoOpen) {
    query.push("open=1");
  }
  if (lang) {
    query.push("lang=" + lang);
  }

  var frame = document.createElement("iframe");
  frame.id = "ds-chat-frame";
  frame.name = "doorstep-chat";
  frame.title = (lang === "cy" ? "Sgwrsio â " : "Chat with ") + DEFAULTS.organisation;
  frame.src = base + "/webchat/frame" + (query.length ? "?" + query.join("&") : "");
  frame.setAttribute("referrerpolicy", "no-referrer");
  var style = frame.style;
  style.position = "fixed";
  style.right = "0";
  style.bottom = "0";
  style.border = "0";
  style.margin = "0";
  style.padding = "0";
  style.background = "transparent";
  style.colorScheme = "normal";
  style.zIndex = "2147483000";
  style.maxWidth = "100vw";
  style.maxHeight = "100vh";

  // Closed: room for the launcher button. Open: the chat panel (the whole screen on a phone).
  // A chat that fills a phone's screen hides the page: the frame then keeps the keyboard
  // inside the chat (Tab wraps round) so focus never lands on a link hidden under it.
  var full = false;
  function size(open) {
    var wasFull = full;
    full = !!open && window.innerWidth <= 480;
    if (!open) {
      style.width = "230px";
      style.height = "100px";
    } else if (full) {
      style.width = "100vw";
      style.height = "100vh";
    } else {
      style.width = "424px";
      style.height = "min(740px, 100vh)";
    }
    if (full !== wasFull) {
      command("layout");
    }
  }
  size(autoOpen);
  frame.addEventListener("load", function () {
    command("layout");
  });

  window.addEventListener("message", function (event) {
    if (event.source !== frame.contentWindow || event.origin !== origin) {
      return;
    }
    var data = event.data;
    if (data && data.type === "doorstep-chat") {
      size(!!data.open);
      if (typeof data.title === "string" && data.title.length < 200) {
        frame.title = data.title;
      }
    }
  });

  function command(name) {
    if (frame.contentWindow) {
      frame.contentWindow.postMessage({ type: "doorstep-chat:command", command: name, full: full }, origin);
    }
  }

  window.DoorstepChat = {
    open: function () {
      size(true);
      command("open");
    },
    close: function () {
      command("close");
    },
  };

  // A skip link to the chat: open it and put the keyboard focus in its message box (the
  // open command focuses the box inside the frame once the frame has focus).
  document.addEventListener("click", function (event) {
    var link = event.target && event.target.closest ? event.target.closest("a[href='#ds-chat-frame']") : null;
    if (link) {
      event.preventDefault();
      size(true);
      frame.focus();
      command("open");
    }
  });

  function start() {
    document.body.appendChild(frame);
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
