// Baton's only hand-written script: toasts for failed htmx requests and form resets.
// No inline script anywhere (the CSP forbids it); behaviour hangs off data attributes.
(function () {
  "use strict";

  function toast(message, kind) {
    var area = document.getElementById("toasts");
    if (!area) { return; }
    var item = document.createElement("div");
    item.className = "toast " + (kind || "error");
    item.setAttribute("role", kind === "error" ? "alert" : "status");
    item.textContent = message;
    var close = document.createElement("button");
    close.type = "button";
    close.className = "toast-close";
    close.setAttribute("aria-label", "Dismiss");
    close.textContent = "×";
    close.addEventListener("click", function () { item.remove(); });
    item.appendChild(close);
    area.appendChild(item);
    window.setTimeout(function () { item.remove(); }, 8000);
  }

  function messageOf(xhr) {
    var type = xhr.getResponseHeader("Content-Type") || "";
    if (type.indexOf("json") !== -1) {
      try {
        var problem = JSON.parse(xhr.responseText);
        var details = (problem.errors || []).map(function (e) { return e.field + " " + e.message; });
        return [problem.detail].concat(details).join(" — ");
      } catch (ignored) { /* fall through to text */ }
    }
    var holder = document.createElement("div");
    holder.innerHTML = xhr.responseText;  // parsed, never inserted: only its text is shown
    return (holder.textContent || "").trim() || ("Request failed (" + xhr.status + ")");
  }

  document.addEventListener("htmx:responseError", function (event) {
    toast(messageOf(event.detail.xhr), "error");
  });
  document.addEventListener("htmx:sendError", function () {
    toast("The server could not be reached. Nothing was changed.", "error");
  });
  document.addEventListener("htmx:afterRequest", function (event) {
    var form = event.detail.elt;
    if (event.detail.successful && form && form.hasAttribute && form.hasAttribute("data-reset-on-success")) {
      form.reset();
    }
  });
})();
