// Baton's only hand-written script: toasts and inline errors for htmx requests, form
// resets, copy buttons, the menu button, the search box, the board's Move menu, and drag and drop (step order, board) through the vendored SortableJS.
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
  // A refused form (4xx) whose container names a `data-error-target` shows the
  // server's fragment there, next to the form, instead of a toast.
  function errorTargetOf(elt) {
    var holder = elt && elt.closest ? elt.closest("[data-error-target]") : null;
    return holder ? document.querySelector(holder.getAttribute("data-error-target")) : null;
  }

  // A refusal makes an earlier success notice stale ("Acme added" above a form that
  // now says what is wrong): take such notices away before the answer is shown.
  function clearNotices() {
    document.querySelectorAll('.notice[role="status"]').forEach(function (notice) {
      notice.remove();
    });
  }

  document.addEventListener("htmx:beforeSwap", function (event) {
    var status = event.detail.xhr.status;
    if (status >= 400) { clearNotices(); }
    if (status < 400 || status >= 500 || status === 401) { return; }
    var target = errorTargetOf(event.detail.requestConfig ? event.detail.requestConfig.elt : event.detail.elt);
    if (!target) { return; }
    event.detail.shouldSwap = true;
    event.detail.isError = false;
    event.detail.target = target;
    event.detail.swapOverride = "innerHTML";
  });

  document.addEventListener("htmx:afterRequest", function (event) {
    var form = event.detail.elt;
    var ok = event.detail.xhr && event.detail.xhr.status < 400 && event.detail.successful;
    if (!ok || !form || !form.hasAttribute) { return; }
    if (form.hasAttribute("data-reset-on-success")) { form.reset(); }
    var slot = errorTargetOf(form);
    if (slot && document.body.contains(slot)) { slot.textContent = ""; }
  });

  // Buttons that close a panel (a transition form, a move form).
  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("[data-clear]") : null;
    if (!button) { return; }
    var target = document.querySelector(button.getAttribute("data-clear"));
    if (target) { target.textContent = ""; }
  });

  // Drag and drop (SortableJS). Mouse-driven fallback mode: it behaves the same in
  // every browser and needs no HTML5 drag-and-drop events.
  var SORTABLE_OPTIONS = { animation: 120, forceFallback: true, fallbackTolerance: 4 };

  function options(extra) {
    var merged = {};
    Object.keys(SORTABLE_OPTIONS).forEach(function (key) { merged[key] = SORTABLE_OPTIONS[key]; });
    Object.keys(extra).forEach(function (key) { merged[key] = extra[key]; });
    return merged;
  }

  // Step order: on drop, post every step id in its new order; on refusal, restore.
  function initStepList(list) {
    var before = null;
    var sortable = window.Sortable.create(list, options({
      handle: ".handle",
      draggable: "[data-id]",
      onStart: function () { before = sortable.toArray(); },
      onEnd: function () {
        var order = sortable.toArray();
        if (before === null || order.join() === before.join()) { return; }
        var previous = before;
        list.addEventListener("htmx:afterRequest", function restore(event) {
          list.removeEventListener("htmx:afterRequest", restore);
          if (event.detail.xhr.status >= 400 && document.body.contains(list)) { sortable.sort(previous, true); }
        });
        window.htmx.ajax("POST", list.getAttribute("data-sort-url"), {
          source: list,
          target: list.getAttribute("data-sort-target"),
          swap: "outerHTML",
          values: { step_ids: order }
        });
      }
    }));
  }

  // The board: a card dropped on another column asks the server to move it. The
  // answer redraws the board; a refusal (or a form asking for details) puts the
  // card back where it was. A board marked `data-reorder` (the pipeline) also
  // sorts within a column, and every drop names the card's new neighbours
  // (`after_id`, `before_id`) so only that card's rank changes; `data-view` is
  // sent along so the redrawn board keeps its filter.
  function neighbourId(card, step) {
    var next = step < 0 ? card.previousElementSibling : card.nextElementSibling;
    while (next && !next.hasAttribute("data-card")) {
      next = step < 0 ? next.previousElementSibling : next.nextElementSibling;
    }
    return next ? next.getAttribute("data-id") : null;
  }

  function initBoard(board) {
    var reorder = board.hasAttribute("data-reorder");
    board.querySelectorAll("[data-column]").forEach(function (column) {
      window.Sortable.create(column, options({
        group: "board-" + (board.getAttribute("data-board") || "cards"),
        draggable: "[data-card]",
        sort: reorder,
        // A press on the Move menu opens the menu; it never starts a drag.
        filter: ".card-move",
        preventOnFilter: false,
        onEnd: function (event) {
          if (event.from === event.to && (!reorder || event.oldIndex === event.newIndex)) { return; }
          var card = event.item;
          var home = event.from;
          var index = event.oldIndex;
          var values = {
            to_step_id: event.to.getAttribute("data-step-id"),
            version: card.getAttribute("data-version"),
            context: "board"
          };
          if (reorder) {
            var after = neighbourId(card, -1);
            var before = neighbourId(card, 1);
            if (after) { values.after_id = after; }
            if (before) { values.before_id = before; }
          }
          if (board.hasAttribute("data-view")) { values.view = board.getAttribute("data-view"); }
          card.classList.add("moving");
          panelCard = card;
          card.addEventListener("htmx:afterRequest", function settle(answer) {
            card.removeEventListener("htmx:afterRequest", settle);
            card.classList.remove("moving");
            if (answer.detail.xhr.status >= 400 && document.body.contains(home)) {
              card.remove();  // out first: within one column its old index counts without it
              home.insertBefore(card, home.children[index] || null);
            }
          });
          window.htmx.ajax("POST", card.getAttribute("data-move-url"), {
            source: card,
            target: "#move-panel",
            swap: "innerHTML",
            values: values
          });
        }
      }));
    });
  }

  function initDrag(root) {
    if (!window.Sortable || !root.querySelectorAll) { return; }
    var lists = Array.prototype.slice.call(root.querySelectorAll("[data-sortable]"));
    if (root.matches && root.matches("[data-sortable]")) { lists.push(root); }
    lists.forEach(function (list) {
      if (!list.__batonSortable) { list.__batonSortable = true; initStepList(list); }
    });
    var boards = Array.prototype.slice.call(root.querySelectorAll("[data-board]"));
    if (root.matches && root.matches("[data-board]")) { boards.push(root); }
    boards.forEach(function (board) {
      if (!board.__batonSortable) { board.__batonSortable = true; initBoard(board); }
    });
  }

  // The board's Move menu (deals/_board.html): after the board is redrawn, focus goes
  // back to the moved card's menu, so a keyboard user carries on where they were; a
  // move that needs details opens its form in #move-panel, focused on its first field.
  var movedCard = null;
  // The card whose move (drop or menu) the panel answers: the panel opens next to it.
  var panelCard = null;

  document.addEventListener("htmx:beforeRequest", function (event) {
    var form = event.detail.elt;
    if (form && form.hasAttribute && form.hasAttribute("data-move-card")) {
      movedCard = form.getAttribute("data-move-card");
      panelCard = form.closest("[data-card]");
    }
  });

  // Below the card, kept inside the board; on a phone the panel stays in the page's
  // flow above the board and is scrolled to instead. What moves is the panel's content
  // (no id): htmx copies the attributes of elements with an id when it redraws the
  // board, and an inline style copied that way is refused by the CSP.
  function placePanel(panel, card) {
    var pipeline = panel.closest(".pipeline");
    var content = panel.firstElementChild;
    panel.classList.remove("beside");
    if (!pipeline || !content || !card || !document.body.contains(card) || window.matchMedia(PHONE).matches) {
      panel.scrollIntoView({ block: "nearest" });
      return;
    }
    panel.classList.add("beside");
    var area = pipeline.getBoundingClientRect();
    var spot = card.getBoundingClientRect();
    var room = Math.max(0, area.width - content.offsetWidth);
    content.style.top = (spot.bottom - area.top + 6) + "px";
    content.style.left = Math.min(Math.max(0, spot.left - area.left), room) + "px";
    content.scrollIntoView({ block: "nearest" });
  }

  document.addEventListener("htmx:afterSettle", function (event) {
    var target = event.detail.target;
    if (target && target.id === "move-panel" && target.children.length) {
      placePanel(target, panelCard);
    }
    if (movedCard === null) { return; }
    if (target && target.id === "move-panel") {
      var field = target.querySelector("select, textarea, input:not([type=hidden]), button");
      if (field) { field.focus(); }
      return;
    }
    var card = document.querySelector('[data-card][data-id="' + movedCard + '"] .card-move summary');
    movedCard = null;
    if (card) { card.focus(); }
  });

  // A redrawn part that says what just happened (the Notifications page's "Marked
  // read") takes the focus: the button that was pressed is gone with the old part.
  document.addEventListener("htmx:afterSettle", function (event) {
    var target = event.detail.target;
    if (!target || !target.querySelector) { return; }
    var said = document.querySelector("[data-focus-after-swap]");
    if (said && document.activeElement === document.body) { said.focus(); }
  });

  // The menu button (templates/base.html): below 1024 px it folds the sidebar away
  // and back; a phone (≤ 768 px) starts folded, a tablet unfolded. The shell's
  // `data-nav` is what the stylesheet reads; aria-expanded says the same to a reader.
  var PHONE = "(max-width: 48rem)";

  function setNav(shell, open) {
    shell.setAttribute("data-nav", open ? "open" : "closed");
    var button = shell.querySelector("[data-menu-toggle]");
    if (button) { button.setAttribute("aria-expanded", open ? "true" : "false"); }
  }

  function initMenu() {
    var shell = document.querySelector("[data-shell]");
    if (!shell) { return; }
    var phone = window.matchMedia(PHONE);
    setNav(shell, !phone.matches);
    phone.addEventListener("change", function () { setNav(shell, !phone.matches); });
    var button = shell.querySelector("[data-menu-toggle]");
    button.addEventListener("click", function () {
      var open = shell.getAttribute("data-nav") !== "open";
      setNav(shell, open);
      if (open) {
        // The first page of the list (the bell above it is the top bar's there).
        var first = shell.querySelector(".sidebar ul a");
        if (first) { first.focus(); }
      }
    });
    // Escape folds the sidebar on a phone (where it covers the page's top) and hands
    // focus back to the button.
    document.addEventListener("keydown", function (event) {
      if (event.key !== "Escape" || !phone.matches || shell.getAttribute("data-nav") !== "open") { return; }
      setNav(shell, false);
      button.focus();
    });
  }

  // The search box (templates/base.html, baton/search/web.py): `/` (outside a field)
  // or Ctrl-K (⌘-K) focuses it; as one types, htmx fills the suggestions below it,
  // grouped by type, the best one highlighted. The arrow keys walk them while the box
  // keeps the focus (aria-activedescendant names the highlighted option), Enter opens
  // the highlighted one (with none, the form goes to the results page), Escape or a
  // click elsewhere closes them. Without the script the form still submits to /search.
  function initSearch() {
    var form = document.querySelector("[data-site-search]");
    if (!form) { return; }
    var input = form.querySelector("input[name=q]");
    var panel = form.querySelector(".search-suggest");

    function optionsOf() { return Array.prototype.slice.call(panel.querySelectorAll('[role="option"]')); }
    function highlighted() { return panel.querySelector('[role="option"][aria-selected="true"]'); }

    function highlight(option) {
      optionsOf().forEach(function (each) {
        each.setAttribute("aria-selected", each === option ? "true" : "false");
      });
      if (option) {
        input.setAttribute("aria-activedescendant", option.id);
        option.scrollIntoView({ block: "nearest" });
      } else {
        input.removeAttribute("aria-activedescendant");
      }
    }

    function show(visible) {
      var open = visible && panel.children.length > 0;
      panel.hidden = !open;
      input.setAttribute("aria-expanded", open && optionsOf().length ? "true" : "false");
      if (!open) { highlight(null); }
    }

    document.addEventListener("keydown", function (event) {
      var target = event.target;
      var inField = target.closest && target.closest("input, textarea, select, [contenteditable]");
      var ctrlK = (event.key === "k" || event.key === "K") && (event.ctrlKey || event.metaKey) && !event.altKey;
      var slash = event.key === "/" && !inField && !event.ctrlKey && !event.metaKey && !event.altKey;
      if (!ctrlK && !slash) { return; }
      event.preventDefault();
      input.focus();
      input.select();
    });

    input.addEventListener("keydown", function (event) {
      var options = optionsOf();
      var at = options.indexOf(highlighted());
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        if (!options.length) { return; }
        event.preventDefault();
        if (panel.hidden) { show(true); }
        var step = event.key === "ArrowDown" ? 1 : -1;
        var next = at === -1 ? (step > 0 ? 0 : options.length - 1) : (at + step + options.length) % options.length;
        highlight(options[next]);
      } else if (event.key === "Enter") {
        var chosen = panel.hidden ? null : highlighted();
        if (chosen) {
          event.preventDefault();
          window.location.assign(chosen.href);
        }
      } else if (event.key === "Escape" && !panel.hidden) {
        // Only the suggestions close: the box keeps what was typed (a search field
        // would clear itself), and the menu's Escape (below) is not for this one.
        event.preventDefault();
        event.stopPropagation();
        show(false);
      }
    });

    input.addEventListener("focus", function () { show(true); });
    document.addEventListener("click", function (event) {
      if (!form.contains(event.target)) { show(false); }
    });
    document.addEventListener("htmx:afterSwap", function (event) {
      if (event.detail.target !== panel) { return; }
      show(document.activeElement === input);
      var first = optionsOf()[0];
      if (!panel.hidden && first) { highlight(first); }
    });
  }


  // Bulk actions (`bulk/_bar.html`): rows ticked in a list, or every row its search
  // matches ("Select all matching"); the action's own choices show once it is picked.
  // After an answer the list is searched again, so it shows the rows as they are now.
  function bulkForm() { return document.getElementById("bulk-form"); }

  function bulkRows() { return document.querySelectorAll("input[data-bulk-row]"); }

  // The ids ticked, kept across a redraw of the list (leaving the search box redraws it
  // with the same rows): the rows still shown stay ticked, the others are let go.
  var bulkPicked = {};

  function bulkCount() {
    var form = bulkForm();
    if (!form) { return; }
    var all = form.querySelector("[data-bulk-all]").value === "1";
    var ticked = 0;
    var kept = {};
    bulkRows().forEach(function (box) {
      if (all || bulkPicked[box.value]) { box.checked = true; }
      if (box.checked) { ticked += 1; kept[box.value] = true; }
    });
    bulkPicked = kept;
    form.querySelector("[data-bulk-count]").textContent = all
      ? "Every row matching the search is selected"
      : (ticked === 0 ? "No rows selected" : ticked + (ticked === 1 ? " row selected" : " rows selected"));
    var bar = form.closest("[data-bulk]");
    bar.classList.toggle("active", all || ticked > 0);
    var page = document.querySelector("input[data-bulk-page]");
    if (page) { page.checked = ticked > 0 && ticked === bulkRows().length; }
  }

  function bulkSelectAll(on) {
    var form = bulkForm();
    form.querySelector("[data-bulk-all]").value = on ? "1" : "";
    bulkPicked = {};
    bulkRows().forEach(function (box) { box.checked = on; });
    bulkCount();
  }

  function bulkShowChoices(action) {
    document.querySelectorAll("[data-bulk-param]").forEach(function (label) {
      label.hidden = label.getAttribute("data-bulk-param") !== action;
    });
  }

  document.addEventListener("change", function (event) {
    var target = event.target;
    if (!target.matches) { return; }
    if (target.matches("input[data-bulk-page]")) {
      var form = bulkForm();
      if (!target.checked && form) { form.querySelector("[data-bulk-all]").value = ""; }
      bulkPicked = {};
      bulkRows().forEach(function (box) { box.checked = target.checked; });
      bulkCount();
    } else if (target.matches("input[data-bulk-row]")) {
      if (!target.checked && bulkForm()) { bulkForm().querySelector("[data-bulk-all]").value = ""; }
      if (target.checked) { bulkPicked[target.value] = true; } else { delete bulkPicked[target.value]; }
      bulkCount();
    } else if (target.matches("[data-bulk-action]")) {
      bulkShowChoices(target.value);
    }
  });

  document.addEventListener("click", function (event) {
    var target = event.target;
    if (!target.closest) { return; }
    if (target.closest("[data-bulk-select-all]")) { bulkSelectAll(true); }
    if (target.closest("[data-bulk-clear]")) { bulkSelectAll(false); }
  });

  document.addEventListener("htmx:afterSwap", bulkCount);
  document.addEventListener("DOMContentLoaded", function () {
    var action = document.querySelector("[data-bulk-action]");
    if (action) { bulkShowChoices(action.value); }
    bulkCount();
  });
  document.addEventListener("bulk-done", function () {
    var form = bulkForm();
    if (!form) { return; }
    bulkSelectAll(false);
    var search = document.querySelector(form.getAttribute("hx-include"));
    if (search && window.htmx) { window.htmx.trigger(search, "submit"); }
  });

  // A "Copy" button beside a read-only field (an invitation link shown once): the
  // field's text to the clipboard, selected too so it can be copied by hand.
  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("[data-copy]") : null;
    if (!button) { return; }
    var field = document.getElementById(button.getAttribute("data-copy"));
    if (!field) { return; }
    field.select();
    var done = function () { button.textContent = "Copied"; };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(field.value).then(done, function () {
        toast("Copying was refused by the browser: the link is selected, copy it by hand.", "error");
      });
    } else if (document.execCommand && document.execCommand("copy")) {
      done();
    }
  });

  document.addEventListener("htmx:load", function (event) { initDrag(event.detail.elt); });
  document.addEventListener("DOMContentLoaded", initMenu);
  document.addEventListener("DOMContentLoaded", initSearch);
  document.addEventListener("DOMContentLoaded", function () { initDrag(document.body); });
})();
