/* The dashboard's only script besides htmx: follow an app's logs live over
   Server-Sent Events. Lines are added as text (textContent), never as HTML. */
(function () {
  "use strict";
  var MAX_LINES = 5000;
  var source = null;

  function stop() {
    if (source) {
      source.close();
      source = null;
    }
  }

  function append(log, text, replace) {
    var atBottom = log.scrollTop + log.clientHeight >= log.scrollHeight - 4;
    if (replace) log.textContent = "";
    var lines = document.createDocumentFragment();
    text.split("\n").forEach(function (line) {
      if (line === "") return;
      var span = document.createElement("span");
      span.textContent = line + "\n";
      lines.appendChild(span);
    });
    log.appendChild(lines);
    while (log.childNodes.length > MAX_LINES) log.removeChild(log.firstChild);
    if (atBottom || replace) log.scrollTop = log.scrollHeight;
  }

  function follow(root) {
    var log = root.querySelector && root.querySelector("pre[data-follow]");
    if (!log || log.getAttribute("data-following")) return;
    stop();
    log.setAttribute("data-following", "yes");
    var status = document.getElementById("log-status");
    var say = function (text) { if (status) status.textContent = text; };
    var events = new EventSource(log.getAttribute("data-follow"));
    source = events;
    say("Connecting…");
    events.addEventListener("backlog", function (event) {
      append(log, event.data, true);
      say("Following new lines live.");
    });
    events.onmessage = function (event) { append(log, event.data, false); };
    events.addEventListener("busy", function (event) {
      say(event.data);
      events.close();
    });
    events.onerror = function () {
      say(events.readyState === EventSource.CLOSED ? "Stopped following." : "Reconnecting…");
    };
  }

  document.addEventListener("htmx:beforeSwap", function (event) {
    if (event.detail.target === document.body) stop();
  });
  window.addEventListener("pagehide", stop);
  if (window.htmx) {
    window.htmx.onLoad(follow);
  } else {
    document.addEventListener("DOMContentLoaded", function () { follow(document); });
  }
})();
