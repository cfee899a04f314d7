/* The survey chat page's script. It posts each form as one JSON event to /s/CODE/api and draws the effects that
   come back. Without it, the same forms post to /s/CODE and the answer comes back as a whole page, so this is an
   enhancement, not a requirement. No framework, no build step, nothing loaded from anywhere else. The HTML it
   inserts is drawn and escaped by the server (bot/channels/webpage.py); words it shows itself come from the page's
   data attributes (bot/channels/web_words.py). */
"use strict";

(function () {
  const main = document.getElementById("main");
  const chat = document.getElementById("chat");
  if (!main || !chat || !window.fetch || !window.FormData) {
    return;
  }
  const status = document.getElementById("status");
  const announcer = document.getElementById("announce");
  const stopButton = document.getElementById("stop");
  const api = main.dataset.action + "/api";
  const calm = window.matchMedia("(prefers-reduced-motion: reduce)").matches;
  let busy = false;

  /* What a pressed button means, as the event the API takes. */
  function eventFor(form, button) {
    const pressed = button ? button.value : "send";
    const parts = pressed.split(":");
    const verb = parts[0];
    const turnField = form.elements.namedItem("turn");
    const turn = turnField ? Number(turnField.value) : undefined;
    if (verb === "pick") {
      return { type: "pick", turn: turn, index: Number(parts[1]) };
    }
    if (verb === "done") {
      const ticked = form.querySelectorAll('input[name="tick"]:checked');
      return { type: "ticks", turn: turn, indexes: Array.from(ticked, function (box) { return Number(box.value); }) };
    }
    if (verb === "send") {
      const field = form.elements.namedItem("text");
      return { type: "reply", turn: turn, text: field ? field.value : "" };
    }
    if (verb === "care") {
      const box = form.elements.namedItem("text");
      return { type: "care", data: pressed, text: box ? box.value : undefined };
    }
    if (verb === "skip" || verb === "back") {
      return { type: verb, turn: turn };
    }
    return { type: verb };
  }

  function note(text) {
    status.textContent = text || "";
  }

  /* New messages are read out once: by this live region, or by moving focus to them, never both. */
  function announce(text) {
    announcer.textContent = "";
    if (text) {
      window.setTimeout(function () { announcer.textContent = text; }, 50);
    }
  }

  function nodesOf(html) {
    const template = document.createElement("template");
    template.innerHTML = html;
    return Array.from(template.content.children);
  }

  /* A form that can no longer be used (an earlier question, a used button) loses its controls but keeps its words. */
  function retire(form) {
    const card = form.closest(".msg");
    const heading = form.querySelector("h2");
    if (card && card.classList.contains("question") && heading) {
      form.replaceWith(heading);
      card.classList.add("retired");
    } else {
      form.remove();
    }
  }

  function keepTyped(old, nodes) {
    const typed = old.querySelector("textarea, input[type=text]");
    nodes.forEach(function (node) {
      const box = node.querySelector("textarea, input[type=text]");
      if (typed && box && !box.value) {
        box.value = typed.value;
        count(box);
      }
    });
  }

  /* The counter under a box with a limit: how many characters are left, and a word when there are none. */
  function count(box) {
    const counter = box.id ? document.getElementById("n" + box.id.slice(1)) : null;
    if (!counter || !counter.dataset.limit) {
      return;
    }
    const left = Number(counter.dataset.limit) - box.value.length;
    const full = left <= 0;
    counter.textContent = left < 0 ? counter.dataset.over.replace("{over}", String(-left))
      : full ? counter.dataset.full : counter.dataset.left.replace("{left}", String(left));
    counter.classList.toggle("full", full);
    if (full && !counter.dataset.said) {
      counter.dataset.said = "yes";
      announce(counter.dataset.full);  // said once: reading the counter at every key press would drown the typing
    } else if (!full) {
      delete counter.dataset.said;
    }
  }

  function draw(body, opening, used) {
    const added = [];
    const appended = [];
    const notes = [];
    body.effects.forEach(function (effect) {
      if (effect.type === "notice") {
        notes.push(effect.text);
        return;
      }
      if (!effect.html) {
        return;
      }
      const nodes = nodesOf(effect.html);
      const old = effect.turn !== undefined ? chat.querySelector('.question[data-turn="' + effect.turn + '"]') : null;
      if (old && effect.type === "ask") {
        /* The same question asked again (an answer it could not take): one card per turn, drawn after the message
           that says why, with the words typed so far still in the box. */
        old.remove();
        chat.append.apply(chat, nodes);
        keepTyped(old, nodes);
        appended.push.apply(appended, nodes);
      } else if (old) {
        old.replaceWith.apply(old, nodes);
      } else {
        chat.append.apply(chat, nodes);
        appended.push.apply(appended, nodes);
      }
      added.push.apply(added, nodes);
    });
    const fresh = added.some(function (node) { return node.querySelector("form"); });
    Array.from(chat.querySelectorAll("form")).forEach(function (form) {
      const isNew = added.some(function (node) { return node.contains(form); });
      if (!isNew && (fresh || !body.open || form === used)) {
        retire(form);
      }
    });
    if (stopButton) {
      stopButton.hidden = !body.open;
    }
    note(notes.join(" "));
    if (opening) {
      return;  // the first messages are read in page order, starting with the privacy notice
    }
    const question = added.find(function (node) {
      return node.classList.contains("question") && node.querySelector("form");
    });
    let target = question ? question.querySelector("h2") : null;
    if (!target && (!document.activeElement || document.activeElement === document.body) && added.length) {
      target = added[added.length - 1];
      target.tabIndex = -1;
    }
    const spoken = added.filter(function (node) {
      return node.classList.contains("bot") && node !== target;
    }).map(function (node) { return node.textContent.trim(); });
    announce(spoken.join(" "));
    if (appended.length) {
      appended[0].scrollIntoView({ block: "start", behavior: calm ? "auto" : "smooth" });
    }
    if (target) {
      target.focus({ preventScroll: appended.length > 0 });
    }
  }

  async function send(event, form) {
    if (busy) {
      return;
    }
    busy = true;
    if (form) {
      form.setAttribute("aria-busy", "true");
    }
    const slow = window.setTimeout(function () { note(main.dataset.sending); }, 700);
    try {
      const response = await fetch(api, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(event),
        credentials: "same-origin",
        cache: "no-store",
      });
      let body = null;
      try {
        body = await response.json();
      } catch (unreadable) {
        body = null;
      }
      window.clearTimeout(slow);
      if (response.ok && body && Array.isArray(body.effects)) {
        draw(body, event.type === "open", form && form.matches("#chat form.act") ? form : null);
      } else if (response.status === 429) {
        note(main.dataset.slowDown);
      } else {
        note(response.status !== 400 && body && body.error ? body.error : main.dataset.tryAgain);
      }
    } catch (offline) {
      window.clearTimeout(slow);
      note(main.dataset.tryAgain);
    } finally {
      busy = false;
      if (form && form.isConnected) {
        form.removeAttribute("aria-busy");
      }
    }
  }

  chat.addEventListener("input", function (typed) {
    if (typed.target instanceof HTMLTextAreaElement) {
      count(typed.target);
    }
  });

  document.addEventListener("submit", function (submitted) {
    const form = submitted.target;
    if (!(form instanceof HTMLFormElement)) {
      return;
    }
    submitted.preventDefault();
    send(eventFor(form, submitted.submitter), form);
  });

  if (main.dataset.started !== "true") {
    const opener = document.getElementById("opener");
    if (opener) {
      opener.remove();
    }
    send({ type: "open" }, null).then(function () {
      if (!navigator.cookieEnabled) {
        note(main.dataset.cookiesOff);
      }
    });
  }
}());
